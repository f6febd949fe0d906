//! The client: reverts, retries, nonces, gas margin, confirmations.

use std::time::{Duration, Instant};

use gavel_chain_client::{
    ARTIFACTS, Client, Error, Sender,
    alloy::{
        network::TransactionBuilder,
        primitives::{Address, U256},
        providers::Provider,
        rpc::types::TransactionRequest,
    },
    bindings::OperatorEvaluator,
    signer_from_hex,
};

use super::{Chain, DEV_KEY_0, config_for};

async fn dev_client(chain: &Chain) -> Client {
    let signer = signer_from_hex(DEV_KEY_0, "test").unwrap();
    Client::connect(&chain.config(), Sender::Local(signer)).await.unwrap()
}

#[tokio::test]
async fn a_reverting_call_is_decoded_with_its_parameters() {
    let chain = Chain::start();
    let client = dev_client(&chain).await;
    let evaluator = ARTIFACTS.iter().find(|a| a.name == "OperatorEvaluator").unwrap();
    let deployed = client.deploy(evaluator, &[]).await.unwrap();
    let contract = OperatorEvaluator::new(deployed.address, client.provider());
    assert_eq!(contract.add(3, 4).call().await.unwrap(), 7);
    let err = contract.matMul(vec![1], vec![1, 2]).call().await.unwrap_err();
    let err = client.contract_error("matMul", err);
    let revert = err.revert().unwrap_or_else(|| panic!("a revert, got {err}"));
    assert_eq!(revert.name.as_deref(), Some("LengthMismatch"));
    let text = err.to_string();
    assert!(text.contains("two operands that must have the same length do not"), "{text}");
    assert!(text.contains("expected = 1, actual = 2"), "{text}");
    // The same revert through `send`: caught at gas estimation, before anything is sent.
    let nonce = client.provider().get_transaction_count(client.sender().unwrap()).await.unwrap();
    let tx = contract.matMul(vec![1], vec![1, 2]).into_transaction_request();
    let err = client.send("matMul", tx).await.unwrap_err();
    assert!(matches!(err, Error::Reverted { .. }), "{err}");
    assert!(err.to_string().starts_with("matMul reverted: "), "{err}");
    assert_eq!(client.provider().get_transaction_count(client.sender().unwrap()).await.unwrap(), nonce);
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_after_backing_off() {
    let mut config = config_for("http://127.0.0.1:1");
    config.retry.max_retries = 3;
    config.retry.initial_backoff = Duration::from_millis(100);
    let start = Instant::now();
    let err = Client::connect(&config, Sender::None).await.unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("gavel chain up"), "says what to try: {err}");
    // 100 + 200 + 400 ms of backoff at least.
    assert!(start.elapsed() >= Duration::from_millis(700), "{:?}", start.elapsed());
}

#[tokio::test]
async fn retries_ride_out_a_chain_that_starts_late() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = config_for(&format!("http://127.0.0.1:{port}"));
    config.retry.max_retries = 8;
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(600));
        Chain::start_on(port)
    });
    let client = Client::connect(&config, Sender::None).await.expect("connects once anvil is up");
    assert_eq!(client.chain_id(), 31337);
    drop(starter.join().unwrap());
}

#[tokio::test]
async fn concurrent_sends_get_consecutive_nonces_and_the_gas_margin() {
    let chain = Chain::start();
    let client = dev_client(&chain).await;
    let from = client.sender().unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8u8 {
        let c = client.clone();
        tasks.spawn(async move {
            let tx = TransactionRequest::default().with_to(Address::repeat_byte(i + 1)).with_value(U256::from(1000));
            c.send("transfer", tx).await.unwrap()
        });
    }
    let mut nonces = vec![];
    while let Some(receipt) = tasks.join_next().await {
        let receipt = receipt.unwrap();
        let tx = client.provider().get_transaction_by_hash(receipt.transaction_hash).await.unwrap().unwrap();
        use gavel_chain_client::alloy::consensus::Transaction;
        nonces.push(tx.inner.nonce());
        // A plain transfer's estimate is 21000; the default margin is 20%.
        assert_eq!(tx.inner.gas_limit(), 25_200);
    }
    nonces.sort();
    assert_eq!(nonces, (0..8).collect::<Vec<u64>>());
    assert_eq!(client.provider().get_transaction_count(from).await.unwrap(), 8);
}

#[tokio::test]
async fn receipts_wait_for_the_configured_confirmations() {
    let chain = Chain::start();
    let mut config = chain.config();
    config.confirmations = 3;
    let client = Client::connect(&config, Sender::Local(signer_from_hex(DEV_KEY_0, "test").unwrap())).await.unwrap();
    let miner = client.clone();
    let mining = tokio::spawn(async move {
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let _: String = miner.raw("evm_mine", ()).await.unwrap();
        }
    });
    let tx = TransactionRequest::default().with_to(Address::repeat_byte(9)).with_value(U256::from(1));
    let start = Instant::now();
    let receipt = client.send("transfer", tx).await.unwrap();
    let head = client.block_number().await.unwrap();
    assert!(head >= receipt.block_number.unwrap() + 2, "head {head}, receipt {:?}", receipt.block_number);
    assert!(start.elapsed() >= Duration::from_millis(500), "{:?}", start.elapsed());
    mining.await.unwrap();
}

#[tokio::test]
async fn a_poor_account_gets_an_insufficient_funds_error() {
    let chain = Chain::start();
    let signer = gavel_chain_client::alloy::signers::local::PrivateKeySigner::random();
    let client = Client::connect(&chain.config(), Sender::Local(signer)).await.unwrap();
    let tx = TransactionRequest::default().with_to(Address::repeat_byte(9)).with_value(U256::from(1));
    let err = client.send("transfer", tx).await.unwrap_err();
    assert!(matches!(err, Error::InsufficientFunds { .. }), "{err}");
    assert!(err.to_string().contains("balance 0 wei"), "{err}");
}

#[tokio::test]
async fn a_forgotten_nonce_is_fetched_again_from_the_node() {
    let chain = Chain::start();
    let client = dev_client(&chain).await;
    let me = client.sender().unwrap();
    let nonces = client.nonces();
    let first = nonces.lease(client.provider(), me).await.unwrap();
    let second = nonces.lease(client.provider(), me).await.unwrap();
    assert_eq!((first.nonce(), second.nonce()), (0, 1));
    // Nonces 0 and 1 were taken but never broadcast: while a send is still in flight the
    // cache would hand out 2 and the send would wait behind the gap, unless forgotten.
    drop(first);
    nonces.forget(me).await;
    let tx = TransactionRequest::default().with_to(Address::repeat_byte(7)).with_value(U256::from(1));
    let receipt = client.send("transfer", tx).await.unwrap();
    assert!(receipt.status());
    assert_eq!(client.provider().get_transaction_count(me).await.unwrap(), 1);
    drop(second);
}

#[tokio::test]
async fn sends_after_a_reorg_take_the_nonces_the_chain_forgot() {
    let chain = Chain::start();
    let client = dev_client(&chain).await;
    let me = client.sender().unwrap();
    let snapshot: String = client.raw("evm_snapshot", ()).await.unwrap();
    let transfer = || TransactionRequest::default().with_to(Address::repeat_byte(7)).with_value(U256::from(1));
    for _ in 0..3 {
        client.send("transfer", transfer()).await.unwrap();
    }
    assert_eq!(client.provider().get_transaction_count(me).await.unwrap(), 3);
    // The three transfers are gone from the chain, as after a reorg that dropped them.
    let reverted: bool = client.raw("evm_revert", (snapshot,)).await.unwrap();
    assert!(reverted);
    assert_eq!(client.provider().get_transaction_count(me).await.unwrap(), 0);
    let receipt = client.send("transfer", transfer()).await.unwrap();
    assert!(receipt.status());
    assert_eq!(client.provider().get_transaction_count(me).await.unwrap(), 1);
}

#[tokio::test]
async fn a_failed_broadcast_does_not_leave_a_nonce_gap() {
    let chain = Chain::start();
    let client = dev_client(&chain).await;
    let me = client.sender().unwrap();
    // A fee cap below the base fee passes estimation but is refused at broadcast.
    let tx = TransactionRequest::default()
        .with_to(Address::repeat_byte(7))
        .with_value(U256::from(1))
        .with_max_fee_per_gas(1)
        .with_max_priority_fee_per_gas(1);
    let err = client.send("underpriced", tx).await.unwrap_err();
    assert!(matches!(err, Error::Rpc(_)), "{err}");
    let tx = TransactionRequest::default().with_to(Address::repeat_byte(7)).with_value(U256::from(1));
    let receipt = client.send("transfer", tx).await.unwrap();
    assert!(receipt.status());
    assert_eq!(client.provider().get_transaction_count(me).await.unwrap(), 1);
}

#[tokio::test]
async fn a_transaction_that_is_never_mined_times_out_with_its_hash() {
    let chain = Chain::start();
    let mut config = chain.config();
    config.receipt_timeout = Duration::from_secs(1);
    let client = Client::connect(&config, Sender::Local(signer_from_hex(DEV_KEY_0, "test").unwrap())).await.unwrap();
    let () = client.raw("evm_setAutomine", (false,)).await.unwrap();
    let tx = TransactionRequest::default().with_to(Address::repeat_byte(7)).with_value(U256::from(1));
    let start = Instant::now();
    let err = client.send("transfer", tx).await.unwrap_err();
    assert!(matches!(err, Error::ReceiptTimeout { secs: 1, .. }), "{err}");
    assert!(err.to_string().contains("raise --receipt-timeout"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn gas_spent_is_what_the_account_paid_beyond_the_values_sent() {
    let chain = Chain::start();
    let client = dev_client(&chain).await;
    let me = client.sender().unwrap();
    let before = client.balance(me).await.unwrap();
    let clone = client.clone();
    for c in [&client, &clone] {
        let tx = TransactionRequest::default().with_to(Address::repeat_byte(7)).with_value(U256::from(1));
        c.send("transfer", tx).await.unwrap();
    }
    let after = client.balance(me).await.unwrap();
    assert!(client.gas_spent() > U256::ZERO);
    assert_eq!(clone.gas_spent(), client.gas_spent());
    assert_eq!(before - after, U256::from(2) + client.gas_spent());
}
