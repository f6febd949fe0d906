//! Checkpoint and trace commitments for gavel.
//!
//! Not built yet: the commitment scheme (tensor roots, memory roots, trace roots,
//! proofs) and the on-disk trace store arrive with the commitments issue. The crate
//! exists now so that the workspace has its final shape and dependency arrows
//! (`executor <- prover <- verifier`).
