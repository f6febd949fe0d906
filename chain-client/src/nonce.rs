//! Nonces for concurrent sends that recover from a failed broadcast.
//!
//! alloy's `CachedNonceManager` hands out consecutive nonces but never resynchronises: a
//! transaction that is filled and then fails to broadcast leaves a gap, and every later
//! transaction of that account waits behind it forever. [`Nonces`] is the same cache with
//! [`Nonces::forget`], which [`crate::Client::send`] calls when a broadcast fails, so the
//! next send asks the node for the pending count again.

use std::{collections::HashMap, sync::Arc};

use alloy::{
    network::Network,
    primitives::Address,
    providers::{Provider, fillers::NonceManager},
    transports::TransportResult,
};
use tokio::sync::Mutex;

/// A nonce cache shared by the clones of a [`crate::Client`].
#[derive(Debug, Clone, Default)]
pub struct Nonces {
    next: Arc<Mutex<HashMap<Address, u64>>>,
}

impl Nonces {
    /// Drops what is cached for `account`: its next nonce is fetched from the node.
    pub async fn forget(&self, account: Address) {
        self.next.lock().await.remove(&account);
    }
}

#[async_trait::async_trait]
impl NonceManager for Nonces {
    async fn get_next_nonce<P, N>(&self, provider: &P, address: Address) -> TransportResult<u64>
    where
        P: Provider<N>,
        N: Network,
    {
        let mut next = self.next.lock().await;
        let nonce = match next.get(&address) {
            Some(n) => *n,
            None => provider.get_transaction_count(address).pending().await?,
        };
        next.insert(address, nonce + 1);
        Ok(nonce)
    }
}
