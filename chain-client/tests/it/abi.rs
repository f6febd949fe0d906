//! The committed ABI snapshots match a fresh forge build.

use std::process::Command;

use super::{repo, tool};

#[test]
fn committed_abi_snapshots_match_a_fresh_forge_build() {
    tool("forge");
    let out = Command::new(repo().join("scripts/abi")).arg("--check").current_dir(repo()).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
