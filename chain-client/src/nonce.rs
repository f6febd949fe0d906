//! Nonces for concurrent sends that recover from a failed broadcast and from a chain that
//! forgot the account's transactions.
//!
//! Sends from one account run concurrently, so each takes the next nonce from a cache:
//! asking the node each time would hand two sends the same pending count. The cache lives
//! only while sends are in flight; a send that starts when none is asks the node again.
//! That is what lets a node recover from a reorg (or a devnet reverting to a snapshot): a
//! cache that outlived the transactions the chain dropped would go on handing out nonces
//! above the account's count, and every later send would wait behind the gap until its
//! receipt timed out.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex as SyncMutex},
};

use alloy::{network::Network, primitives::Address, providers::Provider, transports::TransportResult};
use tokio::sync::Mutex;

/// A nonce cache shared by the clones of a [`crate::Client`].
#[derive(Debug, Clone, Default)]
pub struct Nonces {
    /// The next nonce per account, valid while a send of that account is in flight.
    next: Arc<Mutex<HashMap<Address, u64>>>,
    /// Leases not yet dropped, per account.
    in_flight: Arc<SyncMutex<HashMap<Address, usize>>>,
}

impl Nonces {
    /// Takes the next nonce of `account` for one send; the lease is held until the send
    /// is done (mined, timed out or failed).
    pub async fn lease<P: Provider<N>, N: Network>(&self, provider: &P, account: Address) -> TransportResult<Lease> {
        let mut next = self.next.lock().await;
        let cached = if self.leases(account) == 0 { None } else { next.get(&account).copied() };
        let nonce = match cached {
            Some(n) => n,
            None => provider.get_transaction_count(account).pending().await?,
        };
        next.insert(account, nonce + 1);
        *self.in_flight.lock().expect("nonce lease count").entry(account).or_default() += 1;
        Ok(Lease { nonce, account, nonces: self.clone() })
    }

    /// Drops what is cached for `account`: its next nonce is fetched from the node. For a
    /// nonce that was taken but never broadcast.
    pub async fn forget(&self, account: Address) {
        self.next.lock().await.remove(&account);
    }

    fn leases(&self, account: Address) -> usize {
        self.in_flight.lock().expect("nonce lease count").get(&account).copied().unwrap_or(0)
    }
}

/// One send's nonce; dropping it ends the send.
#[derive(Debug)]
pub struct Lease {
    nonce: u64,
    account: Address,
    nonces: Nonces,
}

impl Lease {
    /// The nonce to send with.
    pub fn nonce(&self) -> u64 {
        self.nonce
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut in_flight = self.nonces.in_flight.lock().expect("nonce lease count");
        if let Some(n) = in_flight.get_mut(&self.account) {
            *n = n.saturating_sub(1);
        }
    }
}
