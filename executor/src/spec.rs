//! The job spec: the TOML file a submitter writes.
//!
//! ```toml
//! [job]
//! name = "digits-mlp"
//! seed = 7
//! steps = 3000
//! checkpoint_interval = 500
//!
//! [model]
//! layers = [64, 32, 10]
//! activation = "relu"
//!
//! [dataset]
//! format = "digits-csv"
//! path = "../data/digits.csv.gz"      # relative to the spec file
//! hash = "0x…"                         # keccak256 of the file
//! test_percent = 20
//! normalize = "standard"
//!
//! [train]
//! batch_size = 32
//! learning_rate = 0.1
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{
    dataset::{DatasetFormat, Normalize},
    error::{Result, SpecError},
    hash::Hash32,
    model::{self, CompiledJob},
    program::MAX_REDUCE,
};

/// Largest layer width the compiler accepts (its reduction splits into at most
/// `MAX_REDUCE` chunks of `model::K_CHUNK`).
pub const MAX_LAYER_WIDTH: u32 = crate::model::K_CHUNK * MAX_REDUCE;

/// A parsed, checked job spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Identity and run length.
    pub job: JobSection,
    /// The network.
    pub model: ModelSection,
    /// The training data.
    pub dataset: DatasetSection,
    /// Optimiser settings.
    pub train: TrainSection,
    /// Folder the spec was read from; relative dataset paths start here.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[job]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSection {
    /// Free-form name.
    pub name: String,
    /// Seed of the split, the initial weights and the batch schedule.
    pub seed: u64,
    /// Training steps (one mini-batch each).
    pub steps: u64,
    /// Write a checkpoint every this many steps (and after the last).
    #[serde(default)]
    pub checkpoint_interval: Option<u64>,
}

/// `[model]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Widths from input to output, e.g. `[64, 32, 10]`.
    pub layers: Vec<u32>,
    /// Hidden-layer activation.
    pub activation: Activation,
}

/// Hidden-layer activations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
}

/// `[dataset]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSection {
    /// Storage format.
    pub format: DatasetFormat,
    /// File or folder, relative to the spec file.
    pub path: PathBuf,
    /// keccak256 of the data (see `dataset::content_hash`).
    pub hash: Hash32,
    /// Share of samples held out for testing.
    #[serde(default = "default_test_percent")]
    pub test_percent: u32,
    /// Feature preprocessing (`none` or `standard`), fitted on the training part.
    #[serde(default)]
    pub normalize: Normalize,
}

fn default_test_percent() -> u32 {
    20
}

/// `[train]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    /// Samples per step.
    pub batch_size: u32,
    /// SGD step size (converted once to Q16.16).
    pub learning_rate: f64,
}

impl JobSpec {
    /// Reads and checks a spec file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SpecError::Parse { path: path.into(), msg: format!("cannot read the file: {e}") })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, path, base)
    }

    /// Parses and checks spec text; `origin` is only used in messages.
    pub fn parse(text: &str, origin: &Path, base_dir: PathBuf) -> Result<Self> {
        let mut spec: JobSpec =
            toml::from_str(text).map_err(|e| SpecError::Parse { path: origin.into(), msg: e.to_string() })?;
        spec.base_dir = base_dir;
        spec.check()?;
        Ok(spec)
    }

    /// The dataset path, resolved against the spec's folder.
    pub fn dataset_path(&self) -> PathBuf {
        self.base_dir.join(&self.dataset.path)
    }

    /// Steps between checkpoints.
    pub fn checkpoint_interval(&self) -> u64 {
        self.job.checkpoint_interval.unwrap_or(self.job.steps)
    }

    /// Compiles to a program with its inputs (reads and verifies the dataset).
    pub fn compile(&self) -> Result<CompiledJob> {
        model::compile(self)
    }

    fn check(&self) -> Result<()> {
        let field = |field: &'static str, msg: String| Err(SpecError::Field { field, msg }.into());
        if self.job.steps == 0 || self.job.steps > u32::MAX as u64 {
            return field("job.steps", format!("{} is out of range; use 1 to {}", self.job.steps, u32::MAX));
        }
        if self.job.checkpoint_interval == Some(0) {
            return field("job.checkpoint_interval", "must be at least 1".into());
        }
        let layers = &self.model.layers;
        if layers.len() < 2 {
            return field("model.layers", format!("{layers:?} needs an input and an output width"));
        }
        if let Some(w) = layers.iter().find(|&&w| w == 0 || w > MAX_LAYER_WIDTH) {
            return field("model.layers", format!("width {w} is out of range; use 1 to {MAX_LAYER_WIDTH}"));
        }
        let classes = *layers.last().expect("checked above");
        if !(2..=MAX_REDUCE).contains(&classes) {
            return field("model.layers", format!("the output width {classes} must be 2 to {MAX_REDUCE} classes"));
        }
        if self.train.batch_size == 0 || self.train.batch_size > MAX_REDUCE {
            return field(
                "train.batch_size",
                format!("{} is out of range; use 1 to {MAX_REDUCE}", self.train.batch_size),
            );
        }
        let lr = self.train.learning_rate;
        if !(lr.is_finite() && lr > 0.0 && lr < 1024.0) {
            return field("train.learning_rate", format!("{lr} must be a positive number below 1024"));
        }
        if crate::numerics::fx_from_f64(lr) == 0 {
            return field("train.learning_rate", format!("{lr} rounds to zero in Q16.16 (smallest step is 2^-16)"));
        }
        if self.dataset.test_percent == 0 || self.dataset.test_percent >= 100 {
            return field("dataset.test_percent", format!("{} must be 1 to 99", self.dataset.test_percent));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[job]
name = "t"
seed = 1
steps = 10

[model]
layers = [64, 8, 10]
activation = "relu"

[dataset]
format = "digits-csv"
path = "d.csv.gz"
hash = "0x0000000000000000000000000000000000000000000000000000000000000000"

[train]
batch_size = 8
learning_rate = 0.1
"#;

    fn parse(text: &str) -> Result<JobSpec> {
        JobSpec::parse(text, Path::new("job.toml"), PathBuf::new())
    }

    fn err_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn good_spec_parses() {
        let s = parse(GOOD).unwrap();
        assert_eq!(s.model.layers, vec![64, 8, 10]);
        assert_eq!(s.dataset.test_percent, 20);
        assert_eq!(s.checkpoint_interval(), 10);
    }

    #[test]
    fn unknown_field_is_named() {
        let e = err_of(&GOOD.replace("seed = 1", "seed = 1\nsed = 2"));
        assert!(e.contains("unknown field `sed`"), "{e}");
    }

    #[test]
    fn missing_field_is_named() {
        let e = err_of(&GOOD.replace("batch_size = 8", ""));
        assert!(e.contains("missing field `batch_size`"), "{e}");
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases = [
            ("steps = 10", "steps = 0", "job.steps"),
            ("layers = [64, 8, 10]", "layers = [64]", "model.layers"),
            ("layers = [64, 8, 10]", "layers = [64, 0, 10]", "model.layers"),
            ("layers = [64, 8, 10]", "layers = [64, 8, 1000]", "model.layers"),
            ("batch_size = 8", "batch_size = 0", "train.batch_size"),
            ("batch_size = 8", "batch_size = 4096", "train.batch_size"),
            ("learning_rate = 0.1", "learning_rate = -1.0", "train.learning_rate"),
            ("learning_rate = 0.1", "learning_rate = 0.000001", "train.learning_rate"),
            ("steps = 10", "steps = 10\ncheckpoint_interval = 0", "job.checkpoint_interval"),
            ("hash = \"0x00", "test_percent = 100\nhash = \"0x00", "dataset.test_percent"),
        ];
        for (from, to, field) in cases {
            let e = err_of(&GOOD.replace(from, to));
            assert!(e.contains(field), "{to}: {e}");
        }
    }

    #[test]
    fn bad_types_and_enums_are_reported() {
        assert!(err_of(&GOOD.replace("\"relu\"", "\"tanh\"")).contains("unknown variant `tanh`"));
        assert!(err_of(&GOOD.replace("\"digits-csv\"", "\"parquet\"")).contains("unknown variant `parquet`"));
        assert!(err_of(&GOOD.replace("0x0000", "0xzz00")).contains("hash"));
        assert!(err_of("[job]\nname = 3").contains("invalid type"));
    }

    #[test]
    fn missing_file_says_so() {
        let e = JobSpec::load(Path::new("/nonexistent/job.toml")).unwrap_err().to_string();
        assert!(e.contains("cannot read the file"), "{e}");
    }
}
