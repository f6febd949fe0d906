//! The fixture: a chain with everything deployed, three funded parties, a short digits
//! job, its honest and tampered trace stores, and a job taken to a challenged result.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use gavel_chain_client::{
    Client, Config, DeployParams, Layer, Sender,
    alloy::primitives::{Address, B256, U256},
    anvil::{Anvil, AnvilOptions},
    bindings::{
        factory::DisputeGameFactory,
        market::{IJobMarket, JobMarket},
        registry::{DeviceRegistry, IDeviceRegistry},
    },
    deploy_all, signer_from_hex,
};
use gavel_dispute::{GameDriver, GameStatus, Outcome, Role, Strategy};
use gavel_executor::{CompiledJob, CpuBackend, JobSpec, Memory, Op, TrainOptions, train};
use gavel_prover::{ProgramCommitment, Tamper, Tampered, TraceStore, TraceSummary, TraceWriter, Traced};

/// Each party's chess clock, in seconds.
pub(crate) const CLOCK: u64 = 3600;

/// Steps of the job.
pub(crate) const STEPS: u64 = 4;

/// The reward and the collateral (odd, so the winner's share is rounded down).
pub(crate) const REWARD: u128 = 1_000_000_000_000_000_000;
pub(crate) const COLLATERAL: u128 = 500_000_000_000_000_001;

/// The solver's stake.
pub(crate) const SOLVER_STAKE: u128 = 2_000_000_000_000_000_000;

/// anvil's dev keys (public knowledge: the standard test mnemonic): submitter and
/// deployer, solver, challenger.
const DEV_KEYS: [&str; 3] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
];

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The digits example cut to [`STEPS`] steps of 8 samples.
pub(crate) fn job() -> CompiledJob {
    let mut spec = JobSpec::load(&repo().join("examples/digits.toml")).expect("digits spec");
    spec.job.steps = STEPS;
    spec.train.batch_size = 8;
    spec.compile().expect("digits compiles")
}

/// The index of the op that writes the slot named `slot`, of the given kind.
pub(crate) fn op_writing(job: &CompiledJob, slot: &str, kind: &str) -> u32 {
    let p = &job.program;
    let j = p.ops.iter().position(|op: &Op| p.slots[op.output() as usize].name == slot && op.name() == kind);
    j.unwrap_or_else(|| panic!("no {kind} writes {slot}")) as u32
}

/// Records `job` into a new store in `dir` (every 2nd checkpoint kept), through
/// `tamper` when given.
pub(crate) fn record(job: &CompiledJob, dir: &Path, tamper: Option<Tamper>) -> TraceSummary {
    let program = Arc::new(job.program.clone());
    let mut cpu = CpuBackend::new(program.clone(), Memory::initial(&program, &job.inputs).unwrap());
    let writer = TraceWriter::create(dir, program.clone(), &job.inputs, 2).unwrap();
    let run = |backend: &mut dyn gavel_executor::Backend| {
        let mut traced = Traced::new(backend, writer);
        train(job, &mut traced, &TrainOptions::default(), |_| {}).expect("training runs");
        traced.finish().expect("recording finishes")
    };
    match tamper {
        Some(t) => run(&mut Tampered::new(&mut cpu, &program, t).unwrap()),
        None => run(&mut cpu),
    }
}

/// A fresh anvil on a free loopback port, killed on drop.
pub(crate) struct Chain {
    anvil: Anvil,
    _dir: tempfile::TempDir,
}

impl Chain {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bin = repo().join("node_modules/.bin/anvil");
        assert!(bin.is_file(), "{} not found: run scripts/bootstrap", bin.display());
        let opts = AnvilOptions {
            bin,
            port: 0,
            accounts: 4,
            balance_eth: 1000,
            block_time: None,
            log: dir.path().join("anvil.log"),
            detach: false,
        };
        Self { anvil: Anvil::start(&opts, Duration::from_secs(30)).expect("anvil starts"), _dir: dir }
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        let _ = self.anvil.child.kill();
        let _ = self.anvil.child.wait();
    }
}

/// Which side records its trace through a fault, and where.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Liar {
    /// The solver's trace is wrong at this fault.
    Solver(Tamper),
    /// The challenger's trace is wrong at this fault.
    Challenger(Tamper),
}

/// A chain, the contracts, the parties and a challenged job.
pub(crate) struct World {
    pub(crate) _chain: Chain,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) submitter: Client,
    pub(crate) solver: Client,
    pub(crate) challenger: Client,
    pub(crate) registry: Address,
    pub(crate) market: Address,
    pub(crate) solver_device: u64,
    pub(crate) challenger_device: u64,
    pub(crate) job_id: u64,
    pub(crate) game: Address,
    pub(crate) liar: Liar,
}

async fn party(url: &str, key: &str) -> Client {
    let layer = Layer { rpc_url: Some(url.into()), ..Layer::default() };
    let config = Config::resolve("/nonexistent-gavel-home".into(), Path::new("/"), [layer]).unwrap();
    Client::connect(&config, Sender::Local(signer_from_hex(key, "test").unwrap())).await.unwrap()
}

fn ok<T>(what: &str, r: Result<T, gavel_chain_client::alloy::contract::Error>) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e}"))
}

impl World {
    /// Deploys everything, records both traces (one through the liar's fault), posts
    /// the job with its program commitment, lets the solver claim and submit its result
    /// and the challenger challenge it.
    pub(crate) async fn open(liar: Liar) -> Self {
        Self::open_with(liar, true).await
    }

    /// As [`World::open`]; without `bind` the job has no program commitment.
    pub(crate) async fn open_with(liar: Liar, bind: bool) -> Self {
        let chain = Chain::start();
        let url = chain.anvil.url();
        let submitter = party(&url, DEV_KEYS[0]).await;
        let solver = party(&url, DEV_KEYS[1]).await;
        let challenger = party(&url, DEV_KEYS[2]).await;
        let params = DeployParams { game_clock: CLOCK, ..DeployParams::default() };
        let d = deploy_all(&submitter, &params, |_| {}).await.expect("deploys");
        let at = |name: &str| d.contracts[name].address;
        let (registry, market, factory) = (at("DeviceRegistry"), at("JobMarket"), at("DisputeGameFactory"));

        let job = job();
        let dir = tempfile::tempdir().unwrap();
        let (s_fault, c_fault) = match liar {
            Liar::Solver(t) => (Some(t), None),
            Liar::Challenger(t) => (None, Some(t)),
        };
        let solver_trace = record(&job, &dir.path().join("solver"), s_fault);
        let challenger_trace = record(&job, &dir.path().join("challenger"), c_fault);
        assert_ne!(solver_trace.output_root, challenger_trace.output_root, "the fault reaches the output");
        let challenger_root = b(&challenger_trace.trace_root);

        let p = submitter.provider();
        let now = submitter.timestamp().await.unwrap();
        let params = IJobMarket::JobParams {
            specHash: B256::repeat_byte(1),
            inputHash: B256::repeat_byte(2),
            claimDeadline: now + 3600,
            executionDeadline: now + 7200,
            challengeWindow: 3600,
            steps: STEPS,
            collateral: COLLATERAL,
        };
        let m = JobMarket::new(market, p);
        let tx = m.postJob(params).value(U256::from(REWARD)).into_transaction_request();
        submitter.send("postJob", tx).await.unwrap();
        let job_id = ok("jobCount", m.jobCount().call().await);
        let c = ProgramCommitment::initial(&job.program, &job.inputs).unwrap();
        let commitment = DisputeGameFactory::ProgramCommitment {
            initialMemory: b(&c.initial_memory),
            slots: c.slots,
            ops: c.ops,
            opTree: b(&c.op_tree),
        };
        if bind {
            let tx = DisputeGameFactory::new(factory, p).registerProgram(job_id, commitment).into_transaction_request();
            submitter.send("registerProgram", tx).await.unwrap();
        }

        let solver_device = register(&solver, registry, "solver", SOLVER_STAKE).await;
        let challenger_device = register(&challenger, registry, "watchtower", 1_000_000_000_000_000_000).await;
        let m = JobMarket::new(market, solver.provider());
        solver.send("claimJob", m.claimJob(job_id, solver_device).into_transaction_request()).await.unwrap();
        let tx = m
            .submitResult(job_id, b(&solver_trace.trace_root), b(&solver_trace.output_root), STEPS)
            .into_transaction_request();
        solver.send("submitResult", tx).await.unwrap();
        let m = JobMarket::new(market, challenger.provider());
        let tx = m
            .challenge(job_id, challenger_device, challenger_root)
            .value(U256::from(COLLATERAL))
            .into_transaction_request();
        challenger.send("challenge", tx).await.unwrap();
        let game_id = ok("gameCount", m.gameCount().call().await);
        let game = ok("disputeOf", m.disputeOf(game_id).call().await).game;
        Self {
            _chain: chain,
            dir,
            submitter,
            solver,
            challenger,
            registry,
            market,
            solver_device,
            challenger_device,
            job_id,
            game,
            liar,
        }
    }

    /// A party's store, opened as that party would (with its fault, if it has one).
    pub(crate) fn store(&self, role: Role) -> TraceStore {
        let (name, fault) = match (role, self.liar) {
            (Role::Solver, Liar::Solver(t)) => ("solver", Some(t)),
            (Role::Challenger, Liar::Challenger(t)) => ("challenger", Some(t)),
            (Role::Solver, _) => ("solver", None),
            (Role::Challenger, _) => ("challenger", None),
        };
        let store = TraceStore::open(&self.dir.path().join(name)).unwrap();
        match fault {
            Some(t) => store.with_tamper(t).unwrap(),
            None => store,
        }
    }

    /// A driver for `role` playing `strategy` with its own store.
    pub(crate) fn driver(&self, role: Role, strategy: Strategy) -> GameDriver {
        let client = match role {
            Role::Solver => self.solver.clone(),
            Role::Challenger => self.challenger.clone(),
        };
        GameDriver::new(client, self.game, role, self.store(role), strategy)
    }

    /// Moves the chain's clock past a whole chess clock and mines a block.
    pub(crate) async fn warp_past_clock(&self) {
        self.warp(CLOCK + 1).await;
    }

    pub(crate) async fn warp(&self, secs: u64) {
        let _: serde_json::Value = self.submitter.raw("evm_increaseTime", (secs,)).await.unwrap();
        let _: serde_json::Value = self.submitter.raw("evm_mine", ()).await.unwrap();
    }

    /// The market's credit of an account.
    pub(crate) async fn market_credit(&self, who: Address) -> U256 {
        ok("creditOf", JobMarket::new(self.market, self.submitter.provider()).creditOf(who).call().await)
    }

    /// The registry's credit of an account.
    pub(crate) async fn registry_credit(&self, who: Address) -> U256 {
        ok("creditOf", DeviceRegistry::new(self.registry, self.submitter.provider()).creditOf(who).call().await)
    }

    /// A device's stake.
    pub(crate) async fn stake(&self, device: u64) -> IDeviceRegistry::Stake {
        ok("stakeOf", DeviceRegistry::new(self.registry, self.submitter.provider()).stakeOf(device).call().await)
    }

    /// A device's reputation counters.
    pub(crate) async fn reputation(&self, device: u64) -> IDeviceRegistry::Reputation {
        ok(
            "reputationOf",
            DeviceRegistry::new(self.registry, self.submitter.provider()).reputationOf(device).call().await,
        )
    }

    /// The job.
    pub(crate) async fn job(&self) -> IJobMarket::Job {
        ok("jobOf", JobMarket::new(self.market, self.submitter.provider()).jobOf(self.job_id).call().await)
    }
}

async fn register(client: &Client, registry: Address, name: &str, stake: u128) -> u64 {
    let r = DeviceRegistry::new(registry, client.provider());
    let meta = IDeviceRegistry::Metadata {
        name: name.into(),
        backend: "cpu".into(),
        hardwareClass: "test".into(),
        endpoint: "http://127.0.0.1:1".into(),
    };
    client.send("register", r.register(meta).value(U256::from(stake)).into_transaction_request()).await.unwrap();
    ok("deviceCount", r.deviceCount().call().await)
}

pub(crate) fn b(h: &gavel_executor::Hash32) -> B256 {
    B256::from(h.0)
}

/// What a played game did.
#[derive(Debug, Default)]
pub(crate) struct Played {
    /// Every move sent, by whom, with its gas.
    pub(crate) moves: Vec<(Role, gavel_dispute::Phase, gavel_dispute::Move, u64)>,
    /// Moves the contract refused (the adversaries' lies), with the revert's name.
    pub(crate) refused: Vec<(Role, String)>,
    /// How often the clock was moved past a whole chess clock.
    pub(crate) warps: usize,
    /// The end: solver won, outcome.
    pub(crate) end: Option<(bool, Outcome)>,
}

/// Polls both drivers in turn until the game ends. When neither sends anything (one side
/// is silent), the chain's clock is moved past a chess clock so the other can time it out.
/// With `restart`, both drivers are rebuilt (store reopened) before every poll, as a node
/// that is killed and restarted between any two moves.
pub(crate) async fn play(world: &World, strategies: [Strategy; 2], restart: bool) -> Played {
    let roles = [Role::Solver, Role::Challenger];
    let mut drivers = roles.map(|r| world.driver(r, strategies[r.party() as usize]));
    let mut played = Played::default();
    for _ in 0..400 {
        let mut progressed = false;
        for (i, role) in roles.into_iter().enumerate() {
            if restart {
                drivers[i] = world.driver(role, strategies[i]);
            }
            match drivers[i].poll().await {
                Ok(GameStatus::Moved { phase, action, gas_used, .. }) => {
                    played.moves.push((role, phase, action, gas_used));
                    progressed = true;
                }
                Ok(GameStatus::Resolved { solver_won, outcome, we_won }) => {
                    assert_eq!(we_won, solver_won == (role == Role::Solver));
                    played.end = Some((solver_won, outcome));
                    return played;
                }
                Ok(GameStatus::Waiting { .. }) => {}
                Err(e) if strategies[i] != Strategy::Honest && e.revert().is_some() => {
                    let name = e.revert().and_then(|r| r.name.clone()).unwrap_or_default();
                    played.refused.push((role, name));
                }
                Err(e) => panic!("{role} poll failed: {e}"),
            }
        }
        if !progressed {
            world.warp_past_clock().await;
            played.warps += 1;
        }
    }
    panic!("the game did not end: {played:?}");
}
