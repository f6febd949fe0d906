//! `gavel identity`: a device's on-chain identity and stake in the DeviceRegistry.

use gavel_chain_client::{
    alloy::{primitives::U256, sol_types::SolEvent},
    bindings::registry::{DeviceRegistry, IDeviceRegistry},
};
use serde::Serialize;

use crate::{
    config::{ChainArgs, Session, UsageError, block_on, ether, parse_amount, time},
    output::Output,
};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Register a device with its first stake (at least the registry's minimum).
    Register {
        /// A name for people.
        #[arg(long)]
        name: String,
        /// The backend it runs (`cpu`, `gpu`, ...).
        #[arg(long, default_value = "gpu")]
        backend: String,
        /// Its hardware class (`rtx-4090`, `h100`, ...).
        #[arg(long, default_value = "")]
        hardware: String,
        /// The HTTP endpoint where it serves inputs and results.
        #[arg(long, default_value = "")]
        endpoint: String,
        /// The stake sent with the registration (`1eth`, `2.5eth`, wei).
        #[arg(long, value_parser = parse_amount)]
        stake: U256,
    },
    /// A device's owner, metadata, stake and reputation (all of the key's devices when no id is given).
    Show {
        /// The device id.
        device: Option<u64>,
    },
    /// Add stake to a device.
    Stake {
        /// The device id.
        device: u64,
        /// The amount (`1eth`, wei).
        #[arg(value_parser = parse_amount)]
        amount: U256,
    },
    /// Start unbonding stake; it can be withdrawn after the unbonding period.
    Unstake {
        /// The device id.
        device: u64,
        /// The amount (`1eth`, wei).
        #[arg(value_parser = parse_amount)]
        amount: U256,
    },
    /// Withdraw stake whose unbonding period is over.
    Withdraw {
        /// The device id.
        device: u64,
    },
    /// Devices ranked by completed jobs, disputes won and least slashed.
    Leaderboard {
        /// Show at most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

#[derive(Debug, Serialize)]
struct Device {
    device: u64,
    owner: String,
    name: String,
    backend: String,
    hardware: String,
    endpoint: String,
    bonded_wei: String,
    locked_wei: String,
    unbonding_wei: String,
    unbonding_ready_at: u64,
    free_wei: String,
    jobs_completed: u64,
    disputes_won: u64,
    disputes_lost: u64,
    slashed_wei: String,
}

impl Device {
    fn text(&self) -> String {
        let wei = |s: &str| ether(s.parse().unwrap_or_default());
        let mut t = format!("device {} \"{}\" owned by {}\n", self.device, self.name, self.owner);
        t += &format!(
            "  backend {}, hardware {}, endpoint {}\n",
            self.backend,
            or_dash(&self.hardware),
            or_dash(&self.endpoint)
        );
        t += &format!(
            "  stake: bonded {}, locked {}, free {}, unbonding {}",
            wei(&self.bonded_wei),
            wei(&self.locked_wei),
            wei(&self.free_wei),
            wei(&self.unbonding_wei)
        );
        if self.unbonding_ready_at != 0 {
            t += &format!(" (withdrawable from {})", time(self.unbonding_ready_at));
        }
        t += &format!(
            "\n  reputation: {} jobs completed, {} disputes won, {} lost, {} slashed",
            self.jobs_completed,
            self.disputes_won,
            self.disputes_lost,
            wei(&self.slashed_wei)
        );
        t
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

async fn device(s: &Session, id: u64) -> anyhow::Result<Device> {
    let r = s.registry()?;
    let owner = r.ownerOf(id).call().await.map_err(|e| s.call_err("ownerOf", e))?;
    let m: IDeviceRegistry::Metadata = r.metadataOf(id).call().await.map_err(|e| s.call_err("metadataOf", e))?;
    let st: IDeviceRegistry::Stake = r.stakeOf(id).call().await.map_err(|e| s.call_err("stakeOf", e))?;
    let rep: IDeviceRegistry::Reputation =
        r.reputationOf(id).call().await.map_err(|e| s.call_err("reputationOf", e))?;
    let free = r.freeStake(id).call().await.map_err(|e| s.call_err("freeStake", e))?;
    Ok(Device {
        device: id,
        owner: owner.to_checksum(None),
        name: m.name,
        backend: m.backend,
        hardware: m.hardwareClass,
        endpoint: m.endpoint,
        bonded_wei: st.bonded.to_string(),
        locked_wei: st.locked.to_string(),
        unbonding_wei: st.unbonding.to_string(),
        unbonding_ready_at: st.readyAt,
        free_wei: free.to_string(),
        jobs_completed: rep.jobsCompleted,
        disputes_won: rep.disputesWon,
        disputes_lost: rep.disputesLost,
        slashed_wei: rep.amountSlashed.to_string(),
    })
}

async fn all_devices(s: &Session) -> anyhow::Result<Vec<Device>> {
    let count = s.registry()?.deviceCount().call().await.map_err(|e| s.call_err("deviceCount", e))?;
    let mut v = Vec::with_capacity(count as usize);
    for id in 1..=count {
        v.push(device(s, id).await?);
    }
    Ok(v)
}

pub(crate) fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    block_on(run_async(args, out))
}

async fn run_async(args: Args, out: &Output) -> anyhow::Result<()> {
    let chain = &args.chain;
    match args.command {
        Command::Register { name, backend, hardware, endpoint, stake } => {
            let s = Session::open(chain, true).await?;
            let metadata = IDeviceRegistry::Metadata { name, backend, hardwareClass: hardware, endpoint };
            let tx = s.registry()?.register(metadata).value(stake).into_transaction_request();
            let receipt = s.send(out, "register", tx).await?;
            let id = receipt
                .inner
                .logs()
                .iter()
                .find_map(|l| DeviceRegistry::DeviceRegistered::decode_log_data(l.data()).ok())
                .map(|e| e.device)
                .ok_or_else(|| anyhow::anyhow!("register: no DeviceRegistered event in the receipt"))?;
            let d = device(&s, id).await?;
            out.result(&d, || format!("registered {}", d.text()));
        }
        Command::Show { device: Some(id) } => {
            let s = Session::open(chain, false).await?;
            let count = s.registry()?.deviceCount().call().await.map_err(|e| s.call_err("deviceCount", e))?;
            if id == 0 || id > count {
                return Err(UsageError(format!("no device {id}: the registry has devices 1 to {count}")).into());
            }
            let d = device(&s, id).await?;
            out.result(&d, || d.text());
        }
        Command::Show { device: None } => {
            let s = Session::open(chain, true).await?;
            let me = s.client.sender()?.to_checksum(None);
            let mine: Vec<Device> = all_devices(&s).await?.into_iter().filter(|d| d.owner == me).collect();
            out.result(&mine, || {
                if mine.is_empty() {
                    format!("{me} owns no device (register one with `gavel identity register`)")
                } else {
                    mine.iter().map(Device::text).collect::<Vec<_>>().join("\n")
                }
            });
        }
        Command::Stake { device: id, amount } => {
            let s = Session::open(chain, true).await?;
            let tx = s.registry()?.addStake(id).value(amount).into_transaction_request();
            s.send(out, "addStake", tx).await?;
            let d = device(&s, id).await?;
            out.result(&d, || format!("added {} of stake\n{}", ether(amount), d.text()));
        }
        Command::Unstake { device: id, amount } => {
            let s = Session::open(chain, true).await?;
            let tx = s.registry()?.requestUnstake(id, amount).into_transaction_request();
            s.send(out, "requestUnstake", tx).await?;
            let d = device(&s, id).await?;
            out.result(&d, || {
                format!("unbonding {}; withdraw from {}\n{}", ether(amount), time(d.unbonding_ready_at), d.text())
            });
        }
        Command::Withdraw { device: id } => {
            let s = Session::open(chain, true).await?;
            let tx = s.registry()?.withdrawStake(id).into_transaction_request();
            let receipt = s.send(out, "withdrawStake", tx).await?;
            let amount = receipt
                .inner
                .logs()
                .iter()
                .find_map(|l| DeviceRegistry::StakeWithdrawn::decode_log_data(l.data()).ok())
                .map_or(U256::ZERO, |e| e.amount);
            let d = device(&s, id).await?;
            #[derive(Serialize)]
            struct W<'a> {
                withdrawn_wei: String,
                device: &'a Device,
            }
            out.result(&W { withdrawn_wei: amount.to_string(), device: &d }, || {
                format!("withdrew {}\n{}", ether(amount), d.text())
            });
        }
        Command::Leaderboard { limit } => {
            let s = Session::open(chain, false).await?;
            let mut all = all_devices(&s).await?;
            let slashed = |d: &Device| d.slashed_wei.parse::<U256>().unwrap_or_default();
            all.sort_by(|a, b| {
                (b.jobs_completed, b.disputes_won, slashed(a), a.device).cmp(&(
                    a.jobs_completed,
                    a.disputes_won,
                    slashed(b),
                    b.device,
                ))
            });
            all.truncate(limit);
            out.result(&all, || {
                let mut t = format!(
                    "{:>4}  {:>6}  {:<20} {:>6} {:>5} {:>5} {:>14} {:>14}\n",
                    "RANK", "DEVICE", "NAME", "JOBS", "WON", "LOST", "SLASHED", "BONDED"
                );
                for (i, d) in all.iter().enumerate() {
                    t += &format!(
                        "{:>4}  {:>6}  {:<20} {:>6} {:>5} {:>5} {:>14} {:>14}\n",
                        i + 1,
                        d.device,
                        d.name,
                        d.jobs_completed,
                        d.disputes_won,
                        d.disputes_lost,
                        ether(slashed(d)),
                        ether(d.bonded_wei.parse().unwrap_or_default())
                    );
                }
                if all.is_empty() {
                    t += "no devices registered yet";
                }
                t.trim_end().to_owned()
            });
        }
    }
    Ok(())
}
