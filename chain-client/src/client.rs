//! The connection to a chain: a provider with retries, a signer, nonce management, gas
//! estimation with a margin, receipts after a number of confirmations, decoded reverts.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, B256, Bytes, U256, keccak256},
    providers::{DynProvider, PendingTransactionError, Provider, ProviderBuilder, WatchTxError},
    rpc::{
        client::ClientBuilder,
        types::{TransactionReceipt, TransactionRequest},
    },
    signers::local::PrivateKeySigner,
    transports::{
        RpcError, TransportErrorKind,
        http::{Http, reqwest},
    },
};

use crate::{
    Config, Error, Result,
    artifacts::Artifact,
    deployments::{Deployed, Deployments},
    nonce::Nonces,
    retry::{RetryLayer, is_transient},
    revert::Revert,
};

/// How transactions are sent and awaited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOptions {
    /// Blocks the transaction must be buried under (1: mined).
    pub confirmations: u64,
    /// Gas limit = estimate x (100 + margin) / 100.
    pub gas_margin_percent: u64,
    /// How long to wait for a receipt.
    pub receipt_timeout: Duration,
}

/// Who signs the transactions a [`Client`] sends.
#[derive(Debug, Clone)]
pub enum Sender {
    /// Read-only: sending fails with [`Error::NoSigner`].
    None,
    /// A local key (keystore or environment); transactions are signed here.
    Local(PrivateKeySigner),
    /// An account the node holds unlocked (anvil's dev accounts); the node signs.
    Unlocked(Address),
}

/// A connection to one chain.
#[derive(Debug, Clone)]
pub struct Client {
    provider: DynProvider,
    url: String,
    chain_id: u64,
    from: Option<Address>,
    nonces: Nonces,
    opts: SendOptions,
    /// Wei paid for gas by the transactions sent through this client and its clones.
    gas_spent: Arc<Mutex<U256>>,
}

impl Client {
    /// Connects to `config.rpc_url`, checks the chain id against `config.chain_id` when set,
    /// and signs with `sender`.
    pub async fn connect(config: &Config, sender: Sender) -> Result<Self> {
        let url: reqwest::Url = config
            .rpc_url
            .parse()
            .map_err(|e| Error::Config(format!("rpc url {:?} is not a URL: {e}", config.rpc_url)))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| Error::Config(format!("http client: {e}")))?;
        let transport = Http::with_client(http, url);
        let is_local = transport.guess_local();
        let client = ClientBuilder::default().layer(RetryLayer::new(config.retry)).transport(transport, is_local);
        let nonces = Nonces::default();
        client.set_poll_interval(config.poll_interval);
        let builder = ProviderBuilder::new().disable_recommended_fillers().with_gas_estimation().fetch_chain_id();
        let (provider, from) = match sender {
            Sender::None => (builder.connect_client(client).erased(), None),
            Sender::Unlocked(a) => (builder.connect_client(client).erased(), Some(a)),
            Sender::Local(signer) => {
                let a = signer.address();
                (builder.wallet(EthereumWallet::from(signer)).connect_client(client).erased(), Some(a))
            }
        };
        let mut this = Self {
            provider,
            url: config.rpc_url.clone(),
            chain_id: 0,
            from,
            nonces,
            gas_spent: Arc::default(),
            opts: SendOptions {
                confirmations: config.confirmations,
                gas_margin_percent: config.gas_margin_percent,
                receipt_timeout: config.receipt_timeout,
            },
        };
        let actual = this.provider.get_chain_id().await.map_err(|e| this.rpc_error("connect", e))?;
        if let Some(expected) = config.chain_id
            && expected != actual
        {
            return Err(Error::ChainIdMismatch { expected, actual });
        }
        this.chain_id = actual;
        Ok(this)
    }

    /// The underlying alloy provider (for reads and the generated bindings).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The chain id the endpoint serves.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The sending account, or [`Error::NoSigner`].
    pub fn sender(&self) -> Result<Address> {
        self.from.ok_or(Error::NoSigner)
    }

    /// Wei paid for gas (gas used times the effective price) by every transaction this
    /// client and its clones sent since it connected, mined ones that failed included.
    pub fn gas_spent(&self) -> U256 {
        *self.gas_spent.lock().expect("gas counter")
    }

    /// The nonce cache this client (and its clones) send with.
    pub fn nonces(&self) -> &Nonces {
        &self.nonces
    }

    /// The send options.
    pub fn options(&self) -> SendOptions {
        self.opts
    }

    /// Translates an RPC error: reverts are decoded, unreachable endpoints say so.
    pub fn rpc_error(&self, action: &str, err: RpcError<TransportErrorKind>) -> Error {
        if let Some(payload) = err.as_error_resp() {
            if let Some(data) = payload.as_revert_data() {
                return Error::Reverted { action: action.to_owned(), revert: Revert::decode(&data) };
            }
            let msg = payload.message.to_lowercase();
            if msg.contains("execution reverted") || msg.starts_with("revert") {
                return Error::Reverted { action: action.to_owned(), revert: Revert::decode(&[]) };
            }
            if msg.contains("insufficient funds") || msg.contains("lack of funds") {
                return Error::InsufficientFunds {
                    action: action.to_owned(),
                    account: self.from.unwrap_or_default(),
                    balance: "?".into(),
                };
            }
            return Error::Rpc(format!("{action}: {}", payload.message));
        }
        if matches!(err, RpcError::Transport(_)) || is_transient(&err) {
            return Error::Unreachable { url: self.url.clone(), message: err.to_string() };
        }
        Error::Rpc(format!("{action}: {err}"))
    }

    /// Translates an error from a generated binding's call.
    pub fn contract_error(&self, action: &str, err: alloy::contract::Error) -> Error {
        match err {
            alloy::contract::Error::TransportError(e) => self.rpc_error(action, e),
            alloy::contract::Error::ZeroData(f, _) => Error::Decode {
                what: format!("{action} ({f})"),
                message: "the address holds no contract (stale deployments file?)".into(),
            },
            other => Error::Decode { what: action.to_owned(), message: other.to_string() },
        }
    }

    async fn funds_error(&self, action: &str) -> Error {
        let account = self.from.unwrap_or_default();
        let balance = self.provider.get_balance(account).await.map(|b| b.to_string()).unwrap_or_else(|_| "?".into());
        Error::InsufficientFunds { action: action.to_owned(), account, balance }
    }

    /// Sends a transaction from the client's account and waits for its receipt after the
    /// configured confirmations. The gas limit is the node's estimate plus the margin; an
    /// estimate that reverts fails here, with the decoded reason, before anything is sent.
    /// Concurrent sends from one client get consecutive nonces.
    pub async fn send(&self, action: &str, tx: TransactionRequest) -> Result<TransactionReceipt> {
        let from = self.sender()?;
        let mut tx = tx.with_from(from);
        let estimate = match self.provider.estimate_gas(tx.clone()).await {
            Ok(g) => g,
            Err(e) => {
                let err = self.rpc_error(action, e);
                return Err(if matches!(err, Error::InsufficientFunds { .. }) {
                    self.funds_error(action).await
                } else {
                    err
                });
            }
        };
        let gas = estimate.saturating_mul(100 + self.opts.gas_margin_percent) / 100;
        tx.set_gas_limit(gas);
        let lease = self.nonces.lease(&self.provider, from).await.map_err(|e| self.rpc_error(action, e))?;
        tx.set_nonce(lease.nonce());
        tracing::debug!(action, %from, estimate, gas, "sending transaction");
        let pending = match self.provider.send_transaction(tx.clone()).await {
            Ok(p) => p,
            Err(e) => {
                // The nonce this transaction took is unused: resynchronise with the node.
                self.nonces.forget(from).await;
                let err = self.rpc_error(action, e);
                return Err(if matches!(err, Error::InsufficientFunds { .. }) {
                    self.funds_error(action).await
                } else {
                    err
                });
            }
        };
        let hash = *pending.tx_hash();
        let receipt = pending
            .with_required_confirmations(self.opts.confirmations)
            .with_timeout(Some(self.opts.receipt_timeout))
            .get_receipt()
            .await
            .map_err(|e| match e {
                PendingTransactionError::TxWatcher(WatchTxError::Timeout) => {
                    Error::ReceiptTimeout { action: action.to_owned(), hash, secs: self.opts.receipt_timeout.as_secs() }
                }
                PendingTransactionError::TransportError(e) => self.rpc_error(action, e),
                other => Error::Rpc(format!("{action}: waiting for {hash}: {other}")),
            })?;
        let block = receipt.block_number.unwrap_or_default();
        // A transaction that failed on chain paid for its gas too.
        let fee = U256::from(receipt.gas_used).saturating_mul(U256::from(receipt.effective_gas_price));
        {
            let mut spent = self.gas_spent.lock().expect("gas counter");
            *spent = spent.saturating_add(fee);
        }
        if !receipt.status() {
            // Replay it on the state before its block to recover the reason.
            let replay = self.provider.call(tx).block(block.saturating_sub(1).into()).await;
            if let Err(e) = replay
                && let err @ Error::Reverted { .. } = self.rpc_error(action, e)
            {
                return Err(err);
            }
            return Err(Error::TxFailed { action: action.to_owned(), hash, block });
        }
        tracing::info!(action, %hash, block, gas_used = receipt.gas_used, "transaction confirmed");
        Ok(receipt)
    }

    /// Deploys `artifact` with ABI-encoded constructor arguments `args`.
    pub async fn deploy(&self, artifact: &Artifact, args: &[u8]) -> Result<Deployed> {
        let action = format!("deploy {}", artifact.name);
        let mut code = artifact.bytecode().to_vec();
        code.extend_from_slice(args);
        let tx = TransactionRequest::default().with_deploy_code(Bytes::from(code));
        let receipt = self.send(&action, tx).await?;
        let address = receipt
            .contract_address
            .ok_or_else(|| Error::Rpc(format!("{action}: no contract address in the receipt")))?;
        let runtime = self.provider.get_code_at(address).await.map_err(|e| self.rpc_error(&action, e))?;
        Ok(Deployed {
            address,
            tx: receipt.transaction_hash,
            block: receipt.block_number.unwrap_or_default(),
            code_hash: keccak256(&runtime),
        })
    }

    /// Checks that every contract in `deployments` has the recorded code at its address.
    pub async fn verify_deployments(&self, deployments: &Deployments) -> Result<()> {
        for (name, d) in &deployments.contracts {
            let code = self.provider.get_code_at(d.address).await.map_err(|e| self.rpc_error("read code", e))?;
            if code.is_empty() {
                return Err(Error::CodeMismatch {
                    contract: name.clone(),
                    address: d.address,
                    message: "no code there".into(),
                });
            }
            if keccak256(&code) != d.code_hash {
                return Err(Error::CodeMismatch {
                    contract: name.clone(),
                    address: d.address,
                    message: format!("code hash {} differs from the recorded {}", keccak256(&code), d.code_hash),
                });
            }
        }
        Ok(())
    }

    /// The balance of `account`, in wei.
    pub async fn balance(&self, account: Address) -> Result<U256> {
        self.provider.get_balance(account).await.map_err(|e| self.rpc_error("read balance", e))
    }

    /// The latest block number.
    pub async fn block_number(&self) -> Result<u64> {
        self.provider.get_block_number().await.map_err(|e| self.rpc_error("read block number", e))
    }

    /// Calls a JSON-RPC method the provider has no wrapper for (anvil's `anvil_*`).
    pub async fn raw<P, R>(&self, method: &'static str, params: P) -> Result<R>
    where
        P: serde::Serialize + Clone + std::fmt::Debug + Send + Sync + Unpin,
        R: serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + Unpin + 'static,
    {
        self.provider.raw_request(method.into(), params).await.map_err(|e| self.rpc_error(method, e))
    }

    /// The hash of block `number`, or `None` when the chain has no such block (yet, or
    /// any longer: a reorganisation shortened it).
    pub async fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        let block =
            self.provider.get_block_by_number(number.into()).await.map_err(|e| self.rpc_error("read a block", e))?;
        Ok(block.map(|b| b.header.hash))
    }

    /// The receipt of transaction `hash`, or `None` when the chain has not mined it (or a
    /// reorganisation dropped it).
    pub async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        self.provider.get_transaction_receipt(hash).await.map_err(|e| self.rpc_error("read a receipt", e))
    }

    /// The latest block's number and timestamp, read together: reads pinned to that
    /// number see one consistent state.
    pub async fn head(&self) -> Result<(u64, u64)> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(|e| self.rpc_error("read the latest block", e))?
            .ok_or_else(|| Error::Rpc("read the latest block: the node returned none".into()))?;
        Ok((block.header.number, block.header.timestamp))
    }

    /// The latest block's timestamp (the chain's clock, which deadlines are measured on).
    pub async fn timestamp(&self) -> Result<u64> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(|e| self.rpc_error("read the latest block", e))?;
        Ok(block.map_or(0, |b| b.header.timestamp))
    }
}
