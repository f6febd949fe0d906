//! Signing keys: encrypted JSON keystores (Web3 Secret Storage, scrypt) in a folder, or a
//! private key from the environment.
//!
//! Key material is never printed, logged or written unencrypted; errors about a key name
//! the key or its source, never its value.

use std::{
    path::{Path, PathBuf},
    str::FromStr,
};

use alloy::{
    primitives::{Address, B256},
    signers::local::{LocalSignerError, PrivateKeySigner},
};
use serde::Serialize;

use crate::{Error, Result};

/// The environment variable holding a hex private key (an alternative to a keystore).
pub const PRIVATE_KEY_ENV: &str = "GAVEL_PRIVATE_KEY";
/// The environment variable holding the keystore password (instead of a prompt).
pub const PASSWORD_ENV: &str = "GAVEL_KEYSTORE_PASSWORD";

/// A folder of encrypted keystores, one file per key, named after the key.
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
}

/// A key in a [`Keystore`], as listed (no password needed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// The key's name.
    pub name: String,
    /// Its address, from the keystore file's `address` field.
    pub address: Option<Address>,
    /// The keystore file.
    pub path: PathBuf,
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok { Ok(()) } else { Err(Error::InvalidKeyName(name.to_owned())) }
}

/// Parses a hex private key (with or without `0x`); `source_name` says where it came from in
/// the error, which never contains the value.
pub fn signer_from_hex(key: &str, source_name: &str) -> Result<PrivateKeySigner> {
    let invalid = || Error::InvalidPrivateKey { source_name: source_name.to_owned() };
    let bytes = B256::from_str(key.trim()).map_err(|_| invalid())?;
    PrivateKeySigner::from_bytes(&bytes).map_err(|_| invalid())
}

impl Keystore {
    /// The keystore in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn prepare(&self, name: &str, password: &str) -> Result<()> {
        check_name(name)?;
        if password.is_empty() {
            return Err(Error::Config("the keystore password must not be empty".into()));
        }
        if self.path(name).exists() {
            return Err(Error::KeyExists { name: name.to_owned(), dir: self.dir.clone() });
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io(&self.dir, e))?;
        }
        Ok(())
    }

    /// Adds the address to a fresh keystore file (as geth does), so `list` needs no password,
    /// and makes it readable by its owner only.
    fn finish(&self, name: &str, address: Address) -> Result<()> {
        let path = self.path(name);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let mut json: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::bad_file(&path, e))?;
        json["address"] = serde_json::Value::String(alloy::primitives::hex::encode(address));
        let text = serde_json::to_string(&json).map_err(|e| Error::bad_file(&path, e))?;
        crate::fsutil::write_atomic(&path, text.as_bytes())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(|e| Error::io(&path, e))?;
        }
        Ok(())
    }

    fn keystore_err(&self, name: &str, e: LocalSignerError) -> Error {
        Error::Keystore { path: self.path(name), message: e.to_string() }
    }

    /// Creates a new random key, encrypted with `password`.
    pub fn create(&self, name: &str, password: &str) -> Result<Address> {
        self.prepare(name, password)?;
        let (signer, _) = PrivateKeySigner::new_keystore(&self.dir, &mut rand::thread_rng(), password, Some(name))
            .map_err(|e| self.keystore_err(name, e))?;
        self.finish(name, signer.address())?;
        Ok(signer.address())
    }

    /// Imports a hex private key, encrypted with `password`.
    pub fn import(&self, name: &str, private_key: &str, password: &str) -> Result<Address> {
        let signer = signer_from_hex(private_key, "being imported")?;
        self.prepare(name, password)?;
        let bytes = signer.to_bytes();
        PrivateKeySigner::encrypt_keystore(&self.dir, &mut rand::thread_rng(), bytes, password, Some(name))
            .map_err(|e| self.keystore_err(name, e))?;
        self.finish(name, signer.address())?;
        Ok(signer.address())
    }

    /// The keys in the folder, by name (an empty list when the folder does not exist).
    pub fn list(&self) -> Result<Vec<KeyInfo>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(Error::io(&self.dir, e)),
        };
        let mut keys = vec![];
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&self.dir, e))?;
            let Ok(name) = entry.file_name().into_string() else { continue };
            if check_name(&name).is_err() || !entry.path().is_file() {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
            if json.get("crypto").or_else(|| json.get("Crypto")).is_none() {
                continue;
            }
            let address = json.get("address").and_then(|a| a.as_str()).and_then(|a| Address::from_str(a).ok());
            keys.push(KeyInfo { name, address, path: entry.path() });
        }
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(keys)
    }

    /// Decrypts a key.
    pub fn unlock(&self, name: &str, password: &str) -> Result<PrivateKeySigner> {
        check_name(name)?;
        let path = self.path(name);
        if !path.is_file() {
            return Err(Error::KeyNotFound { name: name.to_owned(), dir: self.dir.clone() });
        }
        PrivateKeySigner::decrypt_keystore(&path, password).map_err(|e| match e {
            // eth-keystore is not re-exported; its MAC check failing means a wrong password.
            LocalSignerError::EthKeystoreError(ref k) if k.to_string() == "Mac Mismatch" => {
                Error::WrongPassword { name: name.to_owned() }
            }
            other => self.keystore_err(name, other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

    #[test]
    fn create_import_list_unlock() {
        let dir = tempfile::tempdir().unwrap();
        let ks = Keystore::new(dir.path().join("keys"));
        assert!(ks.list().unwrap().is_empty());
        let a = ks.create("alice", "pw-a").unwrap();
        let b = ks.import("bob", KEY, "pw-b").unwrap();
        assert_eq!(b, signer_from_hex(KEY, "test").unwrap().address());
        let list = ks.list().unwrap();
        assert_eq!(
            list.iter().map(|k| (k.name.as_str(), k.address)).collect::<Vec<_>>(),
            [("alice", Some(a)), ("bob", Some(b))]
        );
        assert_eq!(ks.unlock("bob", "pw-b").unwrap().address(), b);
        assert!(matches!(ks.unlock("bob", "wrong"), Err(Error::WrongPassword { .. })));
        assert!(matches!(ks.unlock("carol", "x"), Err(Error::KeyNotFound { .. })));
        assert!(matches!(ks.create("alice", "x"), Err(Error::KeyExists { .. })));
        assert!(matches!(ks.create("../evil", "x"), Err(Error::InvalidKeyName(_))));
        let text = std::fs::read_to_string(ks.dir().join("bob")).unwrap();
        assert!(!text.contains(&KEY[2..]), "the keystore file holds the key encrypted");
    }

    #[test]
    fn bad_private_keys_are_reported_without_their_value() {
        let err = signer_from_hex("0x1234nothex", PRIVATE_KEY_ENV).unwrap_err().to_string();
        assert!(err.contains(PRIVATE_KEY_ENV) && !err.contains("1234"), "{err}");
    }
}
