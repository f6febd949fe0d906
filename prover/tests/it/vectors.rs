//! The exported Merkle test vectors (`tests/vectors/merkle/`) are the ones the code
//! generates, and every case in them verifies exactly when it says it should.

use gavel_prover::vectors;

use crate::common::repo;

#[test]
fn exported_vectors_are_up_to_date_and_labelled_right() {
    let dir = repo().join("tests/vectors/merkle");
    for (name, value) in vectors::generate().unwrap() {
        let path = dir.join(name);
        let on_disk = std::fs::read(&path).unwrap_or_default();
        assert!(
            on_disk == vectors::to_text(&value),
            "{} is missing or stale: run `cargo run -p gavel -- trace vectors`",
            path.display()
        );
    }
    let proofs: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("proofs.json")).unwrap()).unwrap();
    let cases = proofs["cases"].as_array().unwrap();
    let valid = cases.iter().filter(|c| c["valid"] == true).count();
    assert!(valid > 20 && cases.len() - valid > 20, "{valid} valid of {}", cases.len());
    for c in cases {
        assert_eq!(vectors::verify_case(c), Ok(c["valid"].as_bool().unwrap()), "{}", c["name"]);
    }
}
