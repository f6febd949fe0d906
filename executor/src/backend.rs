//! The interface both deterministic backends implement.

use std::ops::Range;

use crate::{error::Result, memory::Memory, program::SlotId};

/// A deterministic executor of one program. The CPU reference and the wgpu backend
/// give bit-identical memory after every operator.
pub trait Backend {
    /// A one-line description (backend and device).
    fn describe(&self) -> String;

    /// Runs operators `ops` of the step body for step number `step`.
    fn run_ops(&mut self, step: u64, ops: Range<usize>) -> Result<()>;

    /// Runs the whole step body for step number `step`.
    fn run_step(&mut self, step: u64) -> Result<()>;

    /// Reads one slot back.
    fn read_slot(&mut self, id: SlotId) -> Result<Vec<i32>>;

    /// Whether every element of a slot is 0 (a recorder's check of a cleared slot; a
    /// backend that holds its memory on the host answers without copying it).
    fn slot_is_zero(&mut self, id: SlotId) -> Result<bool> {
        Ok(crate::memory::all_zero(&self.read_slot(id)?))
    }

    /// Reads the whole memory back.
    fn read_memory(&mut self) -> Result<Memory>;

    /// Overwrites one slot (restoring a checkpoint).
    fn write_slot(&mut self, id: SlotId, values: &[i32]) -> Result<()>;
}
