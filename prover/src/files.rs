//! The trace store's files (layout in `docs/protocol.md`, "The trace store").
//!
//! ```text
//! DIR/store.json               manifest (sealed JSON), written last at creation
//! DIR/program.json             the program's canonical JSON (keccak = program hash)
//! DIR/inputs/0x<hash>.bin      input tensors, little-endian i32 (keccak = name)
//! DIR/roots.bin                header, then one 40-byte record per checkpoint root
//! DIR/checkpoints/<step>.ckpt  state slots after `step` steps (executor format), from
//!                              which step `step` rebuilds the memory of kept step `step + 1`
//! DIR/done.json                summary (sealed JSON), written once everything is synced
//! ```
//!
//! Every file is checked when read: sealed JSON and checkpoints carry a keccak256 of
//! their contents, inputs and the program are named by theirs, and each root record
//! has an 8-byte checksum over its position and value.

use std::{
    fs::{self, File, OpenOptions},
    io::{Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

use gavel_executor::Hash32;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::error::{Error, Result};

pub(crate) const MANIFEST: &str = "store.json";
pub(crate) const PROGRAM: &str = "program.json";
pub(crate) const INPUTS: &str = "inputs";
pub(crate) const ROOTS: &str = "roots.bin";
pub(crate) const CHECKPOINTS: &str = "checkpoints";
pub(crate) const DONE: &str = "done.json";

/// Format name in the manifest.
pub(crate) const FORMAT: &str = "gavel-trace-store";
/// Store format version. 2: checkpoint files hold only the state slots (not the
/// step-local ones), before the step that leads to a kept checkpoint.
pub(crate) const VERSION: u32 = 2;

const ROOTS_MAGIC: &[u8; 8] = b"GVLROOT1";
const HEADER: u64 = 8 + 32;
const RECORD: u64 = 32 + 8;

/// What the store holds, written when it is created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    pub(crate) format: String,
    pub(crate) version: u32,
    /// keccak256 of `program.json`.
    pub(crate) program: Hash32,
    /// Steps of the program (`N`).
    pub(crate) steps: u64,
    /// Tensors are kept after every step that is a multiple of this (and 0 and `N`).
    pub(crate) every: u64,
    /// Elements per chunk of the tensor commitment.
    pub(crate) chunk_elements: u32,
    /// Content hashes of the input tensors.
    pub(crate) inputs: Vec<Hash32>,
}

impl Manifest {
    /// Whether the memory after `step` is kept: rebuilt from a checkpoint file (or, for
    /// steps 0 and 1, from the initial memory) without re-executing from an earlier one.
    pub(crate) fn keeps(&self, step: u64) -> bool {
        step == 0 || step == self.steps || step.is_multiple_of(self.every)
    }

    /// The checkpoint file that kept step `step` is rebuilt from: the state slots after
    /// `step - 1` steps. `None` for steps 0 and 1 (the initial memory serves them).
    pub(crate) fn file_for(&self, step: u64) -> Option<u64> {
        (step >= 2 && self.keeps(step)).then(|| step - 1)
    }
}

/// The outcome of a finished run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Done {
    pub(crate) steps: u64,
    pub(crate) trace_root: Hash32,
    pub(crate) output_root: Hash32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed<T> {
    body: T,
    keccak: Hash32,
}

pub(crate) fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.to_path_buf();
    move |source| Error::Io { what, path, source }
}

pub(crate) fn corrupt(path: &Path, msg: impl Into<String>) -> Error {
    Error::Corrupt { path: path.to_path_buf(), msg: msg.into() }
}

/// Writes `bytes` to `path` through a temporary file and a rename; with `sync`, the
/// data and the folder entry are on disk before it returns.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(io("creating", &tmp))?;
    f.write_all(bytes).map_err(io("writing", &tmp))?;
    if sync {
        f.sync_all().map_err(io("syncing", &tmp))?;
    }
    drop(f);
    fs::rename(&tmp, path).map_err(io("renaming into place", path))?;
    if sync {
        sync_dir(path.parent().unwrap_or(Path::new(".")))?;
    }
    Ok(())
}

/// Makes a folder's entries durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(io("syncing folder", dir))
}

/// Writes `body` as sealed JSON: the body and the keccak256 of its compact JSON.
pub(crate) fn write_sealed<T: Serialize>(path: &Path, body: &T) -> Result<()> {
    let compact = serde_json::to_vec(body).expect("store records serialize");
    let sealed = Sealed { body, keccak: Hash32::of(&compact) };
    let bytes = serde_json::to_vec_pretty(&sealed).expect("store records serialize");
    write_atomic(path, &bytes, true)
}

/// Reads sealed JSON and checks its hash.
pub(crate) fn read_sealed<T: Serialize + DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = fs::read(path).map_err(io("reading", path))?;
    let sealed: Sealed<T> =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(path, format!("not a valid store record: {e}")))?;
    let compact = serde_json::to_vec(&sealed.body).expect("store records serialize");
    if Hash32::of(&compact) != sealed.keccak {
        return Err(corrupt(path, "checksum mismatch: the file was altered or damaged"));
    }
    Ok(sealed.body)
}

/// The path of the checkpoint file holding the state slots after `step` steps.
pub(crate) fn checkpoint_path(dir: &Path, step: u64) -> PathBuf {
    dir.join(CHECKPOINTS).join(format!("{step:010}.ckpt"))
}

/// The path of an input tensor.
pub(crate) fn input_path(dir: &Path, hash: &Hash32) -> PathBuf {
    dir.join(INPUTS).join(format!("{hash}.bin"))
}

fn record(index: u64, root: &Hash32) -> [u8; RECORD as usize] {
    let mut rec = [0u8; RECORD as usize];
    rec[..32].copy_from_slice(&root.0);
    let mut pre = [0u8; 40];
    pre[..8].copy_from_slice(&index.to_le_bytes());
    pre[8..].copy_from_slice(&root.0);
    rec[32..].copy_from_slice(&Hash32::of(&pre).0[..8]);
    rec
}

/// The append-only log of checkpoint roots.
#[derive(Debug)]
pub(crate) struct RootLog {
    path: PathBuf,
    file: File,
    len: u64,
}

impl RootLog {
    /// Creates an empty log for `program`.
    pub(crate) fn create(path: &Path, program: &Hash32) -> Result<Self> {
        let mut file = File::create(path).map_err(io("creating", path))?;
        let mut header = Vec::with_capacity(HEADER as usize);
        header.extend_from_slice(ROOTS_MAGIC);
        header.extend_from_slice(&program.0);
        file.write_all(&header).map_err(io("writing", path))?;
        Ok(Self { path: path.to_path_buf(), file, len: 0 })
    }

    /// Opens a log for appending after its first `keep` records (dropping the rest).
    pub(crate) fn reopen(path: &Path, keep: u64) -> Result<Self> {
        let mut file = OpenOptions::new().write(true).open(path).map_err(io("opening", path))?;
        let end = HEADER + keep * RECORD;
        file.set_len(end).map_err(io("truncating", path))?;
        file.seek(SeekFrom::Start(end)).map_err(io("seeking", path))?;
        Ok(Self { path: path.to_path_buf(), file, len: keep })
    }

    /// Appends the root of checkpoint `self.len()`.
    pub(crate) fn append(&mut self, root: &Hash32) -> Result<()> {
        self.file.write_all(&record(self.len, root)).map_err(io("appending to", &self.path))?;
        self.len += 1;
        Ok(())
    }

    /// Flushes the log to disk.
    pub(crate) fn sync(&self) -> Result<()> {
        self.file.sync_all().map_err(io("syncing", &self.path))
    }
}

/// Reads every root of a log. A torn tail (a partial last record, or a last record whose
/// checksum fails, as a crash mid-append leaves) is dropped when `tolerate_tail` is set
/// and reported as corruption otherwise. Returns the roots and whether a tail was dropped.
pub(crate) fn read_roots(path: &Path, program: &Hash32, tolerate_tail: bool) -> Result<(Vec<Hash32>, bool)> {
    let mut bytes = Vec::new();
    File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)).map_err(io("reading", path))?;
    if (bytes.len() as u64) < HEADER || &bytes[..8] != ROOTS_MAGIC {
        return Err(corrupt(path, "not a root log (bad magic or too short)"));
    }
    if bytes[8..40] != program.0 {
        return Err(corrupt(path, "the root log belongs to another program"));
    }
    let body = &bytes[HEADER as usize..];
    let mut roots = Vec::with_capacity(body.len() / RECORD as usize);
    let mut torn = !(body.len() as u64).is_multiple_of(RECORD);
    let full: Vec<&[u8]> = body.chunks_exact(RECORD as usize).collect();
    for (i, rec) in full.iter().enumerate() {
        let root = Hash32(rec[..32].try_into().expect("32 bytes"));
        if record(i as u64, &root)[32..] != rec[32..] {
            if i + 1 == full.len() && !torn {
                torn = true;
                break;
            }
            return Err(corrupt(path, format!("checksum mismatch in the record of checkpoint {i}")));
        }
        roots.push(root);
    }
    if torn && !tolerate_tail {
        return Err(corrupt(
            path,
            format!("truncated or damaged after checkpoint {} (a finished store has no torn tail)", roots.len()),
        ));
    }
    Ok((roots, torn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_log_round_trips_and_catches_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ROOTS);
        let program = Hash32::of(b"p");
        let roots: Vec<Hash32> = (0..5u8).map(|i| Hash32::of(&[i])).collect();
        let mut log = RootLog::create(&path, &program).unwrap();
        roots.iter().for_each(|r| log.append(r).unwrap());
        drop(log);
        assert_eq!(read_roots(&path, &program, false).unwrap(), (roots.clone(), false));
        assert!(read_roots(&path, &Hash32::of(b"q"), true).is_err());
        let bytes = fs::read(&path).unwrap();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x04;
            fs::write(&path, &b).unwrap();
            assert!(read_roots(&path, &program, false).is_err(), "flip at {i} accepted");
            // Tolerating a torn tail forgives only damage to the last record.
            let lenient = read_roots(&path, &program, true);
            if (i as u64) < HEADER + 4 * RECORD {
                assert!(lenient.is_err(), "flip at {i} forgiven");
            } else {
                assert_eq!(lenient.unwrap(), (roots[..4].to_vec(), true));
            }
        }
        fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(read_roots(&path, &program, false).is_err());
        assert_eq!(read_roots(&path, &program, true).unwrap(), (roots[..4].to_vec(), true));
        let mut log = RootLog::reopen(&path, 2).unwrap();
        log.append(&roots[2]).unwrap();
        drop(log);
        assert_eq!(read_roots(&path, &program, false).unwrap().0, roots[..3].to_vec());
    }

    #[test]
    fn sealed_json_catches_edits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DONE);
        let done = Done { steps: 3, trace_root: Hash32::of(b"t"), output_root: Hash32::of(b"o") };
        write_sealed(&path, &done).unwrap();
        assert_eq!(read_sealed::<Done>(&path).unwrap(), done);
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text.replace("\"steps\": 3", "\"steps\": 2")).unwrap();
        assert!(matches!(read_sealed::<Done>(&path), Err(Error::Corrupt { .. })));
        fs::write(&path, &text[..text.len() / 2]).unwrap();
        assert!(matches!(read_sealed::<Done>(&path), Err(Error::Corrupt { .. })));
    }
}
