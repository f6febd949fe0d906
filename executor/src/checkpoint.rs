//! Checkpoint files: the variable slots of a program's memory after a step.
//!
//! Layout (all integers little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `GVLCKPT1` |
//! | 32 | keccak256 of the program (its canonical JSON) |
//! | 8 | step count completed (`u64`) |
//! | 4 | number of slots stored (`u32`) |
//! | per slot | slot id (`u32`), element count (`u32`), elements (`i32` each) |
//! | 32 | keccak256 of everything above |
//!
//! Constant slots are not stored: they are the program's inputs. Files are written
//! to a temporary name and renamed, so a crash never leaves a half-written file
//! under the final name, and the trailing hash catches any later corruption.

use std::{io::Write, path::Path};

use crate::{
    error::{Error, Result},
    hash::Hash32,
    memory::Memory,
    program::{Program, SlotId, SlotKind},
};

const MAGIC: &[u8; 8] = b"GVLCKPT1";

/// A decoded checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Steps completed when it was taken.
    pub step: u64,
    /// Hash of the program it belongs to.
    pub program: Hash32,
    /// `(slot, values)` for every variable slot.
    pub slots: Vec<(SlotId, Vec<i32>)>,
}

impl Checkpoint {
    /// Takes the variable slots of `memory`.
    pub fn of(program: &Program, step: u64, memory: &Memory) -> Self {
        let slots = program
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.kind, SlotKind::Var { .. }))
            .map(|(i, _)| (i as SlotId, memory.slot(i as SlotId).to_vec()))
            .collect();
        Self { step, program: program.hash(), slots }
    }

    /// The encoded file contents.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.program.0);
        out.extend_from_slice(&self.step.to_le_bytes());
        out.extend_from_slice(&(self.slots.len() as u32).to_le_bytes());
        for (id, values) in &self.slots {
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&(values.len() as u32).to_le_bytes());
            out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        }
        let digest = Hash32::of(&out);
        out.extend_from_slice(&digest.0);
        out
    }

    /// Decodes file contents, checking the magic, the trailing hash and the layout.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let bad = |msg: &str| Error::Checkpoint { path: path.into(), msg: msg.into() };
        if bytes.len() < 8 + 32 + 8 + 4 + 32 || &bytes[..8] != MAGIC {
            return Err(bad("not a gavel checkpoint (bad magic or too short)"));
        }
        let (body, digest) = bytes.split_at(bytes.len() - 32);
        if Hash32::of(body).0 != digest {
            return Err(bad("checksum mismatch: the file is corrupt or truncated; delete it and rerun"));
        }
        let mut r = Reader { bytes: &body[8..] };
        let program = Hash32(r.take(32).ok_or_else(|| bad("truncated header"))?.try_into().expect("32 bytes"));
        let step = u64::from_le_bytes(r.array().ok_or_else(|| bad("truncated header"))?);
        let count = u32::from_le_bytes(r.array().ok_or_else(|| bad("truncated header"))?);
        let mut slots = Vec::new();
        for _ in 0..count {
            let id = u32::from_le_bytes(r.array().ok_or_else(|| bad("truncated slot header"))?);
            let len = u32::from_le_bytes(r.array().ok_or_else(|| bad("truncated slot header"))?) as usize;
            let raw = r.take(len * 4).ok_or_else(|| bad("truncated slot data"))?;
            slots.push((id, raw.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().expect("4"))).collect()));
        }
        if !r.bytes.is_empty() {
            return Err(bad("trailing bytes after the last slot"));
        }
        Ok(Self { step, program, slots })
    }

    /// Writes the file atomically (temporary file, fsync, rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        let io = |source| Error::Io { what: "writing checkpoint", path: path.into(), source };
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&self.to_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads and checks a file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            what: "reading checkpoint",
            path: path.into(),
            source,
        })?;
        Self::from_bytes(&bytes, path)
    }

    /// The values of one stored slot.
    pub fn slot(&self, id: SlotId) -> Option<&[i32]> {
        self.slots.iter().find(|(s, _)| *s == id).map(|(_, v)| v.as_slice())
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).map(|s| s.try_into().expect("length checked"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint { step: 7, program: Hash32::of(b"p"), slots: vec![(2, vec![1, -2, i32::MIN]), (5, vec![9])] }
    }

    #[test]
    fn round_trips_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.ckpt");
        sample().write(&p).unwrap();
        assert_eq!(Checkpoint::read(&p).unwrap(), sample());
    }

    #[test]
    fn every_flipped_bit_and_truncation_is_caught() {
        let bytes = sample().to_bytes();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            assert!(Checkpoint::from_bytes(&b, Path::new("x")).is_err(), "flip at {i} accepted");
        }
        for n in 0..bytes.len() {
            assert!(Checkpoint::from_bytes(&bytes[..n], Path::new("x")).is_err(), "truncation to {n} accepted");
        }
    }
}
