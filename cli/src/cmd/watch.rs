//! `gavel watch`: the watchtower daemon (`gavel_node::Watcher`), and `--report`.

use gavel_chain_client::alloy::primitives::U256;
use gavel_node::WatchPolicy;

use super::solve::{NodeArgs, node_err, progress, runtime, section, shutdown};
use crate::{
    config::{ChainArgs, Session, UsageError, ether},
    output::Output,
};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Share of submitted results to re-execute, 0 to 1 [default: 1, all].
    #[arg(long, value_name = "FRACTION")]
    sample: Option<f64>,
    /// Largest job to re-execute, in program steps [default: 1000000].
    #[arg(long, value_name = "N")]
    max_steps: Option<u64>,
    /// Print what this watchtower earned and played (from its database) and exit.
    #[arg(long)]
    report: bool,
}

pub(crate) fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    if args.report {
        return report(&args, out);
    }
    runtime().block_on(run_async(args, out))
}

fn report(args: &Args, out: &Output) -> anyhow::Result<()> {
    let file = section(&args.chain, "watch")?;
    let home = gavel_chain_client::Config::default_home(|k| std::env::var(k).ok());
    let data = args.node.data.clone().or(file.data.clone()).unwrap_or_else(|| home.join("watcher"));
    if !data.join("node.redb").is_file() {
        return Err(UsageError(format!("no watchtower database in {}", data.display())).into());
    }
    let r = gavel_node::report(&data).map_err(node_err)?;
    out.result(&r, || {
        let wei = |s: &str| ether(s.parse::<U256>().unwrap_or_default());
        let mut t = format!(
            "re-executed {} results ({} agreed), challenged {}\n\
             disputes: {} won, {} lost, {} open\n\
             bonds posted {}, withdrawn {}, gas {}, net {} wei",
            r.verified,
            r.agreed,
            r.challenged,
            r.disputes_won,
            r.disputes_lost,
            r.disputes_open,
            wei(&r.bonds_wei),
            wei(&r.withdrawn_wei),
            wei(&r.gas_wei),
            r.net_wei
        );
        for g in &r.games {
            t += &format!(
                "\n  game {} on job {}: {:?}{} ({} moves)",
                g.game,
                g.job,
                g.result,
                g.outcome.as_ref().map(|o| format!(", {o}")).unwrap_or_default(),
                g.moves
            );
        }
        t
    });
    Ok(())
}

async fn run_async(args: Args, out: &Output) -> anyhow::Result<()> {
    let file = section(&args.chain, "watch")?;
    let session = Session::open(&args.chain, true).await?;
    let home = session.config.home.clone();
    let cfg = args.node.resolve(&file, "watcher", &home, &session.config, out)?;
    let sample = args.sample.or(file.sample).unwrap_or(1.0);
    if !(0.0..=1.0).contains(&sample) {
        return Err(UsageError(format!("--sample {sample} must be between 0 and 1")).into());
    }
    let policy = WatchPolicy { sample, max_steps: args.max_steps.unwrap_or(WatchPolicy::default().max_steps) };
    let data = cfg.data_dir.clone();
    let watcher = gavel_node::Watcher::start(
        cfg,
        policy,
        session.client.clone(),
        &session.deployments,
        &session.config.deployments_dir,
    )
    .await
    .map_err(node_err)?;
    let status = watcher.status();
    let account = status.lock().expect("status lock").account.clone();
    let serving = watcher.listen_addr().map_or_else(|| "no server".into(), |a| format!("serving on http://{a}"));
    out.note(format!("gavel watch: {account}, sampling {sample}, {serving}, data in {}", data.display()));
    let bar = progress(out, status.clone());
    let r = watcher.run(shutdown()).await.map_err(node_err);
    bar.abort();
    r?;
    let s = status.lock().expect("status lock").clone();
    out.result(&s, || format!("stopped: {} games won, {} lost", s.games_won, s.games_lost));
    Ok(())
}
