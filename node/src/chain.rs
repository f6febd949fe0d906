//! The contracts a node talks to, with the reads and sends both daemons share.

use alloy::{
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::{TransactionReceipt, TransactionRequest},
};
use gavel_chain_client::{
    Client, Deployments,
    bindings::{
        DeviceRegistry, DisputeGameFactory, JobMarket,
        market::IJobMarket,
        registry::{DeviceRegistry::DeviceRegistryInstance, IDeviceRegistry},
    },
};

use crate::{error::Result, metrics::Metrics};

/// A job's state on chain (`IJobMarket.JobState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Never posted.
    None,
    /// Waiting for a claim.
    Open,
    /// Claimed, no result yet.
    Claimed,
    /// Result committed, challenge window running or disputed.
    Submitted,
    /// The solver was paid.
    Finalized,
    /// The submitter cancelled it.
    Cancelled,
    /// The solver missed the execution deadline.
    Expired,
    /// A dispute rejected the result.
    Rejected,
}

impl JobState {
    fn from_u8(n: u8) -> Self {
        use JobState::*;
        [None, Open, Claimed, Submitted, Finalized, Cancelled, Expired, Rejected]
            .get(n as usize)
            .copied()
            .unwrap_or(None)
    }
}

/// The contracts of one deployment, read and written through one client.
#[derive(Debug, Clone)]
pub struct Contracts {
    /// The client (signing as the node's key).
    pub client: Client,
    /// The JobMarket.
    pub market: Address,
    /// The DeviceRegistry.
    pub registry: Address,
    /// The DisputeGameFactory.
    pub factory: Address,
    /// The block the market was deployed in (where event streams start).
    pub start_block: u64,
    metrics: Metrics,
}

impl Contracts {
    /// The deployment's contracts; `dir` is the deployments folder (for messages).
    pub fn new(client: Client, deployments: &Deployments, dir: &std::path::Path, metrics: Metrics) -> Result<Self> {
        let market = deployments.get("JobMarket", dir)?;
        Ok(Self {
            market: market.address,
            start_block: market.block,
            registry: deployments.get("DeviceRegistry", dir)?.address,
            factory: deployments.get("DisputeGameFactory", dir)?.address,
            client,
            metrics,
        })
    }

    /// The node's own account.
    pub fn me(&self) -> Result<Address> {
        Ok(self.client.sender()?)
    }

    fn market_c(&self) -> JobMarket::JobMarketInstance<&DynProvider> {
        JobMarket::new(self.market, self.client.provider())
    }

    fn registry_c(&self) -> DeviceRegistryInstance<&DynProvider> {
        DeviceRegistry::new(self.registry, self.client.provider())
    }

    fn call_err(&self, what: &str) -> impl Fn(alloy::contract::Error) -> crate::Error + '_ {
        let what = what.to_owned();
        move |e| self.client.contract_error(&what, e).into()
    }

    /// Job `id` as the market holds it.
    pub async fn job(&self, id: u64) -> Result<IJobMarket::Job> {
        self.market_c().jobOf(id).call().await.map_err(self.call_err("jobOf"))
    }

    /// Job `id`, or `None` when the market has no such job (on this branch of the chain:
    /// a reorg can drop a job a node has already seen).
    pub async fn job_if_exists(&self, id: u64) -> Result<Option<IJobMarket::Job>> {
        match self.job(id).await {
            Ok(j) => Ok(Some(j)),
            Err(crate::Error::Chain(e)) if e.revert().and_then(|r| r.name.as_deref()) == Some("JobNotFound") => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The code at `address` (empty where there is no contract).
    pub async fn code_at(&self, address: Address) -> Result<alloy::primitives::Bytes> {
        let code = self.client.provider().get_code_at(address).await;
        code.map_err(|e| self.client.rpc_error("read code", e).into())
    }

    /// Game `id`'s dispute record.
    pub async fn dispute(&self, id: u64) -> Result<IJobMarket::Dispute> {
        self.market_c().disputeOf(id).call().await.map_err(self.call_err("disputeOf"))
    }

    /// The state of a job record.
    pub fn state_of(job: &IJobMarket::Job) -> JobState {
        JobState::from_u8(job.state)
    }

    /// The program root registered for job `id` (zero when none).
    pub async fn program_root(&self, id: u64) -> Result<B256> {
        DisputeGameFactory::new(self.factory, self.client.provider())
            .programRootOf(id)
            .call()
            .await
            .map_err(self.call_err("programRootOf"))
    }

    /// A device's metadata.
    pub async fn metadata(&self, device: u64) -> Result<IDeviceRegistry::Metadata> {
        self.registry_c().metadataOf(device).call().await.map_err(self.call_err("metadataOf"))
    }

    /// A device's owner.
    pub async fn owner(&self, device: u64) -> Result<Address> {
        self.registry_c().ownerOf(device).call().await.map_err(self.call_err("ownerOf"))
    }

    /// The devices registered so far.
    pub async fn device_count(&self) -> Result<u64> {
        self.registry_c().deviceCount().call().await.map_err(self.call_err("deviceCount"))
    }

    /// A device's stake that is neither locked nor unbonding.
    pub async fn free_stake(&self, device: u64) -> Result<U256> {
        self.registry_c().freeStake(device).call().await.map_err(self.call_err("freeStake"))
    }

    /// A device's locked stake.
    pub async fn locked_stake(&self, device: u64) -> Result<U256> {
        let s = self.registry_c().stakeOf(device).call().await.map_err(self.call_err("stakeOf"))?;
        Ok(U256::from(s.locked))
    }

    /// `account`'s credit in the market and in the registry.
    pub async fn credits(&self, account: Address) -> Result<(U256, U256)> {
        let m = self.market_c().creditOf(account).call().await.map_err(self.call_err("market creditOf"))?;
        let r = self.registry_c().creditOf(account).call().await.map_err(self.call_err("registry creditOf"))?;
        Ok((m, r))
    }

    /// Sends a transaction and counts it.
    pub async fn send(&self, action: &str, tx: TransactionRequest) -> Result<TransactionReceipt> {
        let r = self.client.send(action, tx).await;
        let outcome = if r.is_ok() { "ok" } else { "failed" };
        self.metrics.inc(
            "gavel_transactions_total",
            "Transactions sent, by action and outcome.",
            &[("action", action), ("outcome", outcome)],
            1.0,
        );
        Ok(r?)
    }

    /// `claimJob(id, device)`.
    pub async fn claim(&self, id: u64, device: u64) -> Result<TransactionReceipt> {
        self.send("claimJob", self.market_c().claimJob(id, device).into_transaction_request()).await
    }

    /// `submitResult(id, traceRoot, outputRoot, steps)`.
    pub async fn submit(&self, id: u64, trace: B256, output: B256, steps: u64) -> Result<TransactionReceipt> {
        self.send("submitResult", self.market_c().submitResult(id, trace, output, steps).into_transaction_request())
            .await
    }

    /// `finalize(id)`.
    pub async fn finalize(&self, id: u64) -> Result<TransactionReceipt> {
        self.send("finalize", self.market_c().finalize(id).into_transaction_request()).await
    }

    /// `challenge(id, device, traceRoot)` with the bond; returns the game id and address.
    pub async fn challenge(&self, id: u64, device: u64, trace: B256, bond: U256) -> Result<(u64, Address)> {
        use alloy::sol_types::SolEvent;
        let tx = self.market_c().challenge(id, device, trace).value(bond).into_transaction_request();
        let receipt = self.send("challenge", tx).await?;
        receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| JobMarket::DisputeOpened::decode_log_data(l.data()).ok())
            .map(|e| (e.game, e.gameAddress))
            .ok_or_else(|| crate::Error::Inconsistent("challenge: no DisputeOpened event in the receipt".into()))
    }

    /// `withdrawCredit()` on the registry (`registry`) or the market: the transaction
    /// and the amount paid out, from its `CreditWithdrawn` event.
    pub async fn withdraw_credit(&self, registry: bool) -> Result<(B256, U256)> {
        use alloy::sol_types::SolEvent;
        let receipt = if registry {
            self.send("withdrawCredit (registry)", self.registry_c().withdrawCredit().into_transaction_request())
                .await?
        } else {
            self.send("withdrawCredit (market)", self.market_c().withdrawCredit().into_transaction_request()).await?
        };
        let amount = receipt.inner.logs().iter().find_map(|l| {
            JobMarket::CreditWithdrawn::decode_log_data(l.data())
                .map(|e| e.amount)
                .or_else(|_| DeviceRegistry::CreditWithdrawn::decode_log_data(l.data()).map(|e| e.amount))
                .ok()
        });
        let amount = amount.ok_or_else(|| {
            crate::Error::Inconsistent("withdrawCredit: no CreditWithdrawn event in the receipt".into())
        })?;
        Ok((receipt.transaction_hash, amount))
    }

    /// The chain's clock (the latest block's timestamp).
    pub async fn now(&self) -> Result<u64> {
        Ok(self.client.timestamp().await?)
    }
}
