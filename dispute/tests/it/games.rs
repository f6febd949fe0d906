//! Whole games: a wrong trace loses by replay whichever side holds it (element-wise
//! chunk replay and one-element replay, for every operator the digits program has), the
//! market and the registry settle exactly as docs/contracts.md says, silent and lying
//! parties lose on time, an unbound job is ended by the challenger, and a driver refuses
//! to play with the wrong key or the wrong store.

use gavel_chain_client::alloy::primitives::U256;
use gavel_dispute::{Error, GameDriver, Move, Outcome, Phase, Role, Strategy};
use gavel_prover::Tamper;

use crate::common::{COLLATERAL, Liar, REWARD, SOLVER_STAKE, STEPS, World, job, op_writing, play};

const HONEST: [Strategy; 2] = [Strategy::Honest, Strategy::Honest];

/// `floor(C / 2)`: the winner's share.
const SHARE: u128 = COLLATERAL / 2;

/// A wrong weight update: `sgd` on `w0` (2048 elements, 4 chunks), element 1000 (chunk
/// 1), in the last step (so `h_N` is opened in the step commit).
fn sgd_fault() -> Tamper {
    Tamper { step: 3, op: op_writing(&job(), "w0", "sgd"), element: 1000, delta: 1 << 16 }
}

/// A wrong gradient: `mat_mul` writing `dw0` (`x^T g0`, 2048 elements), element 1500
/// (chunk 2), in step 1.
fn mat_mul_fault() -> Tamper {
    Tamper { step: 1, op: op_writing(&job(), "dw0", "mat_mul"), element: 1500, delta: 1 << 20 }
}

fn phases(moves: &[(Role, Phase, Move, u64)]) -> Vec<Phase> {
    let mut p: Vec<Phase> = moves.iter().map(|m| m.1).collect();
    p.dedup();
    p
}

#[tokio::test]
async fn a_cheating_solver_loses_the_chunk_replay_and_is_slashed() {
    let world = World::open(Liar::Solver(sgd_fault())).await;
    let played = play(&world, HONEST, false).await;
    assert_eq!(played.end, Some((false, Outcome::Replayed)), "{played:?}");
    assert_eq!(played.warps, 0);
    assert_eq!(
        phases(&played.moves),
        [Phase::Checkpoints, Phase::StepCommit, Phase::Ops, Phase::Slot, Phase::Descent, Phase::Replay],
        "{played:?}"
    );
    // Each side moved once per round; the replay is the whole chunk 1 (element 1000).
    let (last_role, _, last, gas) = *played.moves.last().unwrap();
    assert_eq!(last, Move::Replay { chunk: 1 });
    assert!(gas < 1_500_000, "replay gas {gas}");
    let per_side = |r: Role| played.moves.iter().filter(|m| m.0 == r).count();
    let rounds = played.moves.len() - 1;
    assert_eq!(per_side(Role::Solver) + per_side(Role::Challenger), rounds + 1);
    assert!(per_side(Role::Solver) >= rounds / 2 && per_side(Role::Challenger) >= rounds / 2, "{last_role}");
    assert!(played.moves.iter().any(|m| m.2 == Move::CommitStep { step: 3 }));

    // docs/contracts.md, "Amounts and shares": the result is rejected; the challenger gets
    // its bond back (market) and half the collateral (registry); the submitter its reward
    // (market) and the rest of the collateral (registry); the solver loses C.
    let (submitter, solver, challenger) =
        (world.submitter.sender().unwrap(), world.solver.sender().unwrap(), world.challenger.sender().unwrap());
    assert_eq!(world.job().await.state, 7, "Rejected");
    assert_eq!(world.market_credit(challenger).await, U256::from(COLLATERAL));
    assert_eq!(world.market_credit(submitter).await, U256::from(REWARD));
    assert_eq!(world.market_credit(solver).await, U256::ZERO);
    assert_eq!(world.registry_credit(challenger).await, U256::from(SHARE));
    assert_eq!(world.registry_credit(submitter).await, U256::from(COLLATERAL - SHARE));
    assert_eq!(world.registry_credit(solver).await, U256::ZERO);
    let stake = world.stake(world.solver_device).await;
    assert_eq!((stake.bonded, stake.locked), (SOLVER_STAKE - COLLATERAL, 0));
    let rep = world.reputation(world.solver_device).await;
    assert_eq!((rep.jobsCompleted, rep.disputesWon, rep.disputesLost, rep.amountSlashed), (0, 0, 1, COLLATERAL));
    let rep = world.reputation(world.challenger_device).await;
    assert_eq!((rep.jobsCompleted, rep.disputesWon, rep.disputesLost, rep.amountSlashed), (0, 1, 0, 0));
    // Every wei is accounted for: the market holds the reward and the bond as credits,
    // the registry the stakes and the slashed collateral as credits.
    assert_eq!(world.submitter.balance(world.market).await.unwrap(), U256::from(REWARD + COLLATERAL));
    let staked = SOLVER_STAKE + 1_000_000_000_000_000_000;
    assert_eq!(world.submitter.balance(world.registry).await.unwrap(), U256::from(staked));
}

#[tokio::test]
async fn a_cheating_challenger_loses_the_mat_mul_element_replay_with_nodes_restarted_every_poll() {
    let world = World::open(Liar::Challenger(mat_mul_fault())).await;
    // Drivers rebuilt (store reopened) before every poll: nothing lives between polls.
    let played = play(&world, HONEST, true).await;
    assert_eq!(played.end, Some((true, Outcome::Replayed)), "{played:?}");
    assert_eq!(
        phases(&played.moves),
        [
            Phase::Checkpoints,
            Phase::StepCommit,
            Phase::Ops,
            Phase::Slot,
            Phase::Descent,
            Phase::ChunkReveal,
            Phase::Replay
        ],
        "{played:?}"
    );
    let (_, _, last, gas) = *played.moves.last().unwrap();
    // The first element of chunk 2 where the chunks differ: the tampered one.
    assert_eq!(last, Move::ReplayElement { element: 1500 });
    assert!(gas < 1_500_000, "replay gas {gas}");
    assert!(played.moves.iter().any(|m| m.2 == Move::CommitStep { step: 1 }));

    // The solver won: it gets half the challenger's bond, the submitter the rest; the
    // collateral stays locked until the result is finalized.
    let (submitter, solver, challenger) =
        (world.submitter.sender().unwrap(), world.solver.sender().unwrap(), world.challenger.sender().unwrap());
    assert_eq!(world.job().await.state, 3, "still Submitted");
    assert_eq!(world.market_credit(solver).await, U256::from(SHARE));
    assert_eq!(world.market_credit(submitter).await, U256::from(COLLATERAL - SHARE));
    assert_eq!(world.market_credit(challenger).await, U256::ZERO);
    for who in [submitter, solver, challenger] {
        assert_eq!(world.registry_credit(who).await, U256::ZERO);
    }
    let stake = world.stake(world.solver_device).await;
    assert_eq!((stake.bonded, stake.locked), (SOLVER_STAKE, COLLATERAL));
    let rep = world.reputation(world.solver_device).await;
    assert_eq!((rep.disputesWon, rep.disputesLost, rep.amountSlashed), (1, 0, 0));
    let rep = world.reputation(world.challenger_device).await;
    assert_eq!((rep.disputesWon, rep.disputesLost, rep.amountSlashed), (0, 1, 0));

    // After the challenge window the result is finalized: reward to the solver.
    world.warp(3601).await;
    let m = gavel_chain_client::bindings::JobMarket::new(world.market, world.submitter.provider());
    world.submitter.send("finalize", m.finalize(world.job_id).into_transaction_request()).await.unwrap();
    assert_eq!(world.job().await.state, 4, "Finalized");
    assert_eq!(world.market_credit(solver).await, U256::from(SHARE + REWARD));
    assert_eq!(world.stake(world.solver_device).await.locked, 0);
    assert_eq!(world.reputation(world.solver_device).await.jobsCompleted, 1);
}

#[tokio::test]
async fn a_silent_solver_loses_on_time() {
    let world = World::open(Liar::Solver(sgd_fault())).await;
    let played = play(&world, [Strategy::Stall, Strategy::Honest], false).await;
    assert_eq!(played.end, Some((false, Outcome::Timeout)), "{played:?}");
    // The challenger revealed h_mid, waited out the solver's clock and called timeout.
    let moves: Vec<Move> = played.moves.iter().map(|m| m.2).collect();
    assert_eq!(moves, [Move::RevealCheckpoint { step: 2 }, Move::Timeout]);
    assert!(played.moves.iter().all(|m| m.0 == Role::Challenger));
    assert_eq!(played.warps, 1);
    assert_eq!(world.job().await.state, 7, "Rejected");
}

#[tokio::test]
async fn a_silent_challenger_loses_on_time_and_drivers_refuse_the_wrong_key_or_store() {
    let world = World::open(Liar::Challenger(mat_mul_fault())).await;
    // The challenger's key playing the solver's side.
    let mut d =
        GameDriver::new(world.challenger.clone(), world.game, Role::Solver, world.store(Role::Solver), HONEST[0]);
    assert!(matches!(d.poll().await, Err(Error::NotTheParty { role: "solver", .. })));
    // The solver with the challenger's store.
    let mut d =
        GameDriver::new(world.solver.clone(), world.game, Role::Solver, world.store(Role::Challenger), HONEST[0]);
    let err = d.poll().await.unwrap_err();
    assert!(matches!(err, Error::WrongTrace { what: "trace root", .. }), "{err}");

    let played = play(&world, [Strategy::Honest, Strategy::Stall], false).await;
    assert_eq!(played.end, Some((true, Outcome::Timeout)), "{played:?}");
    assert_eq!(world.job().await.state, 3, "still Submitted");
    let solver = world.solver.sender().unwrap();
    assert_eq!(world.market_credit(solver).await, U256::from(SHARE));
}

#[tokio::test]
async fn a_lie_in_the_bisection_is_refused_and_the_liar_loses_on_time() {
    let world = World::open(Liar::Challenger(mat_mul_fault())).await;
    let played = play(&world, [Strategy::Honest, Strategy::LieInBisection], false).await;
    assert_eq!(played.end, Some((true, Outcome::Timeout)), "{played:?}");
    assert!(!played.refused.is_empty());
    assert!(played.refused.iter().all(|(r, name)| *r == Role::Challenger && name == "InvalidProof"), "{played:?}");
    // Nothing the liar sent was accepted.
    assert!(played.moves.iter().all(|m| m.0 == Role::Solver), "{played:?}");
}

#[tokio::test]
async fn equivocating_at_the_slot_is_refused_and_the_liar_loses_on_time() {
    let world = World::open(Liar::Solver(mat_mul_fault())).await;
    let played = play(&world, [Strategy::Equivocate, Strategy::Honest], false).await;
    assert_eq!(played.end, Some((false, Outcome::Timeout)), "{played:?}");
    assert!(played.refused.iter().all(|(r, name)| *r == Role::Solver && name == "InvalidProof"), "{played:?}");
    assert!(!played.refused.is_empty());
    // The bisection was played by both; at the slot only the challenger's reveal stood.
    let slot: Vec<(Role, Move)> = played.moves.iter().filter(|m| m.1 == Phase::Slot).map(|m| (m.0, m.2)).collect();
    assert!(matches!(slot[..], [(Role::Challenger, Move::RevealSlot { .. }), (Role::Challenger, Move::Timeout)]));
    assert!(played.moves.iter().any(|m| m.0 == Role::Solver && m.1 == Phase::Ops));
}

#[tokio::test]
async fn a_game_on_an_unbound_job_is_ended_by_the_challenger() {
    let world = World::open_with(Liar::Solver(sgd_fault()), false).await;
    let played = play(&world, HONEST, false).await;
    assert_eq!(played.end, Some((false, Outcome::Unbound)), "{played:?}");
    let moves: Vec<(Role, Move)> = played.moves.iter().map(|m| (m.0, m.2)).collect();
    assert_eq!(moves, [(Role::Challenger, Move::ResolveUnbound)]);
}

/// Every kind of operator the digits program has, lied about in the last step (so the
/// fault reaches `h_N` even in a scratch slot), by either side: the honest side wins the
/// replay. Each replay opens exactly the input chunks `OneStepReplay` reads (the mirror
/// in `dispute/src/replay.rs`), or the contract would revert `MissingElement`.
#[tokio::test]
async fn every_operator_of_the_program_is_replayed_against_either_liar() {
    let job = job();
    let cases = [
        ("x", "gather", 100),
        ("z0", "mat_mul", 200),
        ("a0", "add_bias", 255),
        ("h0", "relu", 7),
        ("row_loss", "xent_loss", 5),
        ("loss_sum", "sum_rows", 0),
        ("loss", "scale", 0),
        ("g1", "softmax_xent_grad", 33),
        // Element 18: where relu_grad passes the fault on (at 17 it is masked, and the
        // clear at the end of the step erases the wrong `dh0`: nothing to dispute).
        ("dh0", "mat_mul", 18),
        ("g0", "relu_grad", 9),
        ("b1", "sgd", 3),
        // A clear that leaves a non-zero behind.
        ("x", "scale", 100),
    ];
    for (n, (slot, kind, element)) in cases.into_iter().enumerate() {
        let fault = Tamper { step: STEPS - 1, op: op_writing(&job, slot, kind), element, delta: 1 << 16 };
        let solver_lies = n % 2 == 0;
        let liar = if solver_lies { Liar::Solver(fault) } else { Liar::Challenger(fault) };
        let world = World::open(liar).await;
        let played = play(&world, HONEST, false).await;
        assert_eq!(played.end, Some((!solver_lies, Outcome::Replayed)), "{kind} writing {slot}: {played:?}");
        let (_, _, last, gas) = *played.moves.last().unwrap();
        let expected = if matches!(kind, "relu" | "scale" | "relu_grad" | "sgd") {
            Move::Replay { chunk: element / 512 }
        } else {
            Move::ReplayElement { element }
        };
        assert_eq!(last, expected, "{kind} writing {slot}");
        assert!(gas < 1_500_000, "{kind} writing {slot}: replay gas {gas}");
    }
}
