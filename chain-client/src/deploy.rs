//! Deploying and wiring the contracts, and writing the deployments file.

use std::collections::BTreeMap;

use alloy::{
    primitives::{Address, U256},
    sol_types::SolValue,
};

use crate::{
    Client, Error, Result,
    artifacts::Artifact,
    bindings::{DeviceRegistry, DisputeGameFactory},
    deployments::{Deployed, Deployments},
};

/// The protocol parameters fixed at deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeployParams {
    /// DeviceRegistry: the least bonded stake of an active device, in wei.
    pub min_stake: U256,
    /// DeviceRegistry: seconds between an unstake request and the withdrawal.
    pub unbonding_period: u64,
    /// DisputeGameFactory: each party's total time in a game (chess clock), in seconds.
    pub game_clock: u64,
    /// JobMarket: the least collateral a job may ask of its solver, in wei.
    pub min_collateral: U256,
    /// JobMarket: the shortest challenge window a job may set, in seconds.
    pub min_challenge_window: u64,
    /// JobMarket: the longest challenge window a job may set, in seconds.
    pub max_challenge_window: u64,
}

impl Default for DeployParams {
    fn default() -> Self {
        const ETH: u64 = 1_000_000_000_000_000_000;
        Self {
            min_stake: U256::from(ETH),
            unbonding_period: 7 * 24 * 3600,
            game_clock: 24 * 3600,
            min_collateral: U256::from(ETH / 10),
            min_challenge_window: 3600,
            max_challenge_window: 7 * 24 * 3600,
        }
    }
}

fn artifact(name: &str) -> Result<&'static Artifact> {
    Artifact::by_name(name)
        .ok_or_else(|| Error::Decode { what: name.to_owned(), message: "no embedded snapshot".into() })
}

/// Deploys DeviceRegistry, OneStepReplay, DisputeGameDeployer, DisputeGameFactory, JobMarket
/// and OperatorEvaluator, then points the registry and the factory at the market. `progress` hears each step's name first.
pub async fn deploy_all(client: &Client, params: &DeployParams, mut progress: impl FnMut(&str)) -> Result<Deployments> {
    let deployer = client.sender()?;
    let mut contracts: BTreeMap<String, Deployed> = BTreeMap::new();
    let mut deploy = async |name: &str, args: Vec<u8>, progress: &mut dyn FnMut(&str)| -> Result<Address> {
        progress(name);
        let d = client.deploy(artifact(name)?, &args).await?;
        tracing::info!(contract = name, address = %d.address, "deployed");
        let address = d.address;
        contracts.insert(name.to_owned(), d);
        Ok(address)
    };
    let registry =
        deploy("DeviceRegistry", (params.min_stake, params.unbonding_period).abi_encode_params(), &mut progress)
            .await?;
    let replayer = deploy("OneStepReplay", vec![], &mut progress).await?;
    let game_deployer = deploy("DisputeGameDeployer", vec![], &mut progress).await?;
    let factory_args = (params.game_clock, replayer, game_deployer).abi_encode_params();
    let factory = deploy("DisputeGameFactory", factory_args, &mut progress).await?;
    let market_args =
        (registry, factory, params.min_collateral, params.min_challenge_window, params.max_challenge_window)
            .abi_encode_params();
    let market = deploy("JobMarket", market_args, &mut progress).await?;
    deploy("OperatorEvaluator", vec![], &mut progress).await?;
    progress("wiring");
    let tx = DeviceRegistry::new(registry, client.provider()).setMarket(market).into_transaction_request();
    client.send("DeviceRegistry.setMarket", tx).await?;
    let tx = DisputeGameFactory::new(factory, client.provider()).setMarket(market).into_transaction_request();
    client.send("DisputeGameFactory.setMarket", tx).await?;
    Ok(Deployments { chain_id: client.chain_id(), deployer, contracts })
}
