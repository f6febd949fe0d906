//! Bindings, keys and transaction sending for gavel's contracts.
//!
//! Not built yet: it arrives with the chain-client issue, once the contracts exist.
//! The crate exists now so the workspace has its final shape.
