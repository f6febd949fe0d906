//! A content-addressed blob store on disk: each blob is a file named by the keccak256 of
//! its bytes.
//!
//! A job's spec is the blob whose hash is the job's `specHash` (the spec file's bytes),
//! its data set the blob whose hash is `inputHash` (the bytes `dataset::content_hash`
//! covers: the file itself, or for a folder format its files concatenated in their fixed
//! order). Every blob is checked against its name when it is written and when it is read,
//! so a damaged disk or a lying peer can never feed the executor bytes of another hash.

use std::path::{Path, PathBuf};

use alloy::primitives::{B256, keccak256};
use gavel_executor::{DatasetFormat, JobSpec};

use crate::error::{Error, Result};

/// A folder of blobs named `0x<keccak256>`.
#[derive(Debug, Clone)]
pub struct ContentStore {
    dir: PathBuf,
}

impl ContentStore {
    /// The store in `dir` (created if missing).
    /// A relative `dir` is made absolute here: blob paths are written into specs, which
    /// resolve relative paths against the spec's own folder.
    pub fn open(dir: &Path) -> Result<Self> {
        let dir = std::path::absolute(dir).map_err(Error::io("resolving", dir))?;
        std::fs::create_dir_all(&dir).map_err(Error::io("creating", &dir))?;
        Ok(Self { dir })
    }

    /// The store's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where blob `hash` lives (it may not exist).
    pub fn path(&self, hash: B256) -> PathBuf {
        self.dir.join(hash.to_string())
    }

    /// Whether blob `hash` is present (not checked).
    pub fn has(&self, hash: B256) -> bool {
        self.path(hash).is_file()
    }

    /// Stores `bytes` and returns their hash (atomically: a reader never sees a partial
    /// blob).
    pub fn put(&self, bytes: &[u8]) -> Result<B256> {
        let hash = keccak256(bytes);
        let path = self.path(hash);
        if path.is_file() {
            return Ok(hash);
        }
        let tmp = self.dir.join(format!(".{hash}.tmp-{}", std::process::id()));
        std::fs::write(&tmp, bytes).map_err(Error::io("writing", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(Error::io("renaming", &path))?;
        Ok(hash)
    }

    /// Stores `bytes` that must hash to `expected`; `source_name` names where they came
    /// from in the error.
    pub fn put_checked(&self, expected: B256, bytes: &[u8], source_name: &str) -> Result<()> {
        let actual = keccak256(bytes);
        if actual != expected {
            return Err(Error::HashMismatch { expected, actual, source_name: source_name.to_owned() });
        }
        self.put(bytes).map(|_| ())
    }

    /// Blob `hash`, checked against its name; `None` when absent. A damaged blob is
    /// removed and reported as absent (it is fetched again).
    pub fn get(&self, hash: B256) -> Result<Option<Vec<u8>>> {
        let path = self.path(hash);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("reading", &path)(e)),
        };
        if keccak256(&bytes) != hash {
            tracing::warn!(path = %path.display(), "a stored blob does not match its hash; dropping it");
            let _ = std::fs::remove_file(&path);
            return Ok(None);
        }
        Ok(Some(bytes))
    }

    /// Adds a job spec file and its data set (as the spec names it) and returns
    /// `(specHash, inputHash)`: what `gavel job post` puts on chain for it.
    pub fn add_job(&self, spec_path: &Path) -> Result<(B256, B256)> {
        let spec_bytes = std::fs::read(spec_path).map_err(Error::io("reading", spec_path))?;
        let spec = JobSpec::load(spec_path)?;
        let data = dataset_bytes(spec.dataset.format, &spec.dataset_path())?;
        let spec_hash = self.put(&spec_bytes)?;
        let input_hash = self.put(&data)?;
        if input_hash.0 != spec.dataset.hash.0 {
            return Err(Error::Config(format!(
                "{}: the data set hashes to {input_hash}, the spec declares {}",
                spec_path.display(),
                spec.dataset.hash
            )));
        }
        Ok((spec_hash, input_hash))
    }

    /// Parses the spec blob `spec_hash` with its data set taken from blob `input_hash`
    /// (materialised as the spec's format needs), ready to compile. Both blobs must be
    /// present; the data set's hash must be the one the spec declares.
    pub fn job_spec(&self, spec_hash: B256, input_hash: B256) -> Result<JobSpec> {
        let bytes = self.get(spec_hash)?.ok_or_else(|| Error::NotFound { hash: spec_hash, tried: "local".into() })?;
        let text =
            String::from_utf8(bytes).map_err(|_| Error::Inconsistent(format!("spec {spec_hash} is not UTF-8 text")))?;
        let origin = self.path(spec_hash);
        let mut spec = JobSpec::parse(&text, &origin, self.dir.clone())?;
        if spec.dataset.hash.0 != input_hash.0 {
            return Err(Error::Inconsistent(format!(
                "spec {spec_hash} declares data set {}, the job's input hash is {input_hash}",
                spec.dataset.hash
            )));
        }
        spec.dataset.path = self.materialize(spec.dataset.format, input_hash)?;
        Ok(spec)
    }

    /// A path the data set loader reads blob `hash` from in `format`.
    fn materialize(&self, format: DatasetFormat, hash: B256) -> Result<PathBuf> {
        let blob = self.path(hash);
        if !self.has(hash) {
            return Err(Error::NotFound { hash, tried: "local".into() });
        }
        match format {
            DatasetFormat::DigitsCsv => Ok(blob),
            DatasetFormat::MnistNpm => {
                let dir = self.dir.join("unpacked").join(hash.to_string());
                if dir.join("9.json").is_file() {
                    return Ok(dir);
                }
                let bytes = self.get(hash)?.ok_or_else(|| Error::NotFound { hash, tried: "local".into() })?;
                let parts = split_json_documents(&bytes)
                    .filter(|p| p.len() == 10)
                    .ok_or_else(|| Error::Inconsistent(format!("data set {hash} is not ten mnist digit files")))?;
                let tmp = self.dir.join("unpacked").join(format!(".{hash}.tmp-{}", std::process::id()));
                std::fs::create_dir_all(&tmp).map_err(Error::io("creating", &tmp))?;
                for (d, part) in parts.iter().enumerate() {
                    let p = tmp.join(format!("{d}.json"));
                    std::fs::write(&p, part).map_err(Error::io("writing", &p))?;
                }
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::rename(&tmp, &dir).map_err(Error::io("renaming", &dir))?;
                Ok(dir)
            }
        }
    }
}

/// The bytes a data set's content hash covers (`gavel_executor::dataset::content_hash`).
pub fn dataset_bytes(format: DatasetFormat, path: &Path) -> Result<Vec<u8>> {
    match format {
        DatasetFormat::DigitsCsv => std::fs::read(path).map_err(Error::io("reading", path)),
        DatasetFormat::MnistNpm => {
            let mut all = Vec::new();
            for d in 0..10 {
                let f = path.join(format!("{d}.json"));
                all.extend(std::fs::read(&f).map_err(Error::io("reading", &f))?);
            }
            Ok(all)
        }
    }
}

/// Splits concatenated JSON documents at their ends; whitespace between documents stays
/// with the document after it, so the parts concatenate back to `bytes`.
fn split_json_documents(bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut starts = Vec::new();
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<serde::de::IgnoredAny>();
    let mut start = 0;
    while let Some(item) = stream.next() {
        item.ok()?;
        starts.push(start);
        start = stream.byte_offset();
    }
    // Each part runs to the next one's start; trailing whitespace belongs to the last.
    let ends = starts.iter().skip(1).copied().chain(std::iter::once(bytes.len()));
    Some(starts.iter().zip(ends).map(|(&s, e)| &bytes[s..e]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
    }

    #[test]
    fn blobs_are_checked_on_write_and_read() {
        let dir = tempfile::tempdir().unwrap();
        let s = ContentStore::open(dir.path()).unwrap();
        let h = s.put(b"hello").unwrap();
        assert_eq!(h, keccak256(b"hello"));
        assert_eq!(s.get(h).unwrap().unwrap(), b"hello");
        let err = s.put_checked(h, b"other", "peer").unwrap_err().to_string();
        assert!(err.contains("peer") && err.contains(&h.to_string()), "{err}");
        // A damaged blob is dropped, not served.
        std::fs::write(s.path(h), b"hellO").unwrap();
        assert_eq!(s.get(h).unwrap(), None);
        assert!(!s.has(h));
        assert_eq!(s.get(keccak256(b"absent")).unwrap(), None);
    }

    #[test]
    fn a_relative_folder_is_made_absolute() {
        let s = ContentStore::open(Path::new("../target/content-store-test")).unwrap();
        assert!(s.dir().is_absolute(), "{}", s.dir().display());
        assert!(s.dir().ends_with("target/content-store-test"));
        std::fs::remove_dir_all(s.dir()).unwrap();
    }

    #[test]
    fn a_job_added_from_its_spec_compiles_from_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let s = ContentStore::open(&dir.path().join("content")).unwrap();
        let spec_path = dir.path().join("job.toml");
        let text = std::fs::read_to_string(repo().join("examples/digits.toml")).unwrap().replace(
            "\"../data/digits.csv.gz\"",
            &format!("{:?}", repo().join("data/digits.csv.gz").display().to_string()),
        );
        std::fs::write(&spec_path, text.replace("steps = 4000", "steps = 3")).unwrap();
        let (spec_hash, input_hash) = s.add_job(&spec_path).unwrap();
        assert_eq!(spec_hash, keccak256(std::fs::read(&spec_path).unwrap()));
        assert_eq!(input_hash.to_string(), "0x762941069406b4182b250d8df0b06bf4c9feb5f2bac0ca40e805684cf5a4e223");
        let spec = s.job_spec(spec_hash, input_hash).unwrap();
        assert_eq!(spec.dataset.path, s.path(input_hash));
        let compiled = spec.compile().unwrap();
        assert_eq!(compiled.program.steps, 3);
        // The wrong input hash is refused before anything is read.
        assert!(s.job_spec(spec_hash, keccak256(b"x")).is_err());
    }

    #[test]
    fn folder_data_sets_split_back_into_their_files() {
        let files: Vec<String> = (0..10).map(|d| format!("{{\"data\": [{d}]}}\n")).collect();
        let all: Vec<u8> = files.concat().into_bytes();
        let parts = split_json_documents(&all).unwrap();
        assert_eq!(parts.len(), 10);
        assert_eq!(parts.concat(), all);
        assert!(split_json_documents(b"{\"a\": 1} {").is_none());
    }
}
