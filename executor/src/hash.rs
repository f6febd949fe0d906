//! Content addressing: keccak256 hashes of byte strings and tensors.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tiny_keccak::{Hasher, Keccak};

/// A keccak256 digest, shown and serialized as `0x`-prefixed hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// keccak256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        let mut k = Keccak::v256();
        k.update(bytes);
        let mut out = [0u8; 32];
        k.finalize(&mut out);
        Self(out)
    }

    /// keccak256 of a tensor's little-endian bytes.
    pub fn of_tensor(values: &[i32]) -> Self {
        let mut k = Keccak::v256();
        for chunk in values.chunks(4096) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
            k.update(&bytes);
        }
        let mut out = [0u8; 32];
        k.finalize(&mut out);
        Self(out)
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a string is not a hash.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a 0x-prefixed 32-byte hex hash")]
pub struct ParseHashError(String);

impl FromStr for Hash32 {
    type Err = ParseHashError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex_part = s.strip_prefix("0x").ok_or_else(|| ParseHashError(s.to_owned()))?;
        let bytes = hex::decode(hex_part).map_err(|_| ParseHashError(s.to_owned()))?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| ParseHashError(s.to_owned()))?;
        Ok(Self(arr))
    }
}

impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keccak_of_empty_is_the_known_value() {
        assert_eq!(Hash32::of(b"").to_string(), "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    }

    #[test]
    fn tensor_hash_is_hash_of_le_bytes() {
        let v: Vec<i32> = (-5000..5000).collect();
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(Hash32::of_tensor(&v), Hash32::of(&bytes));
    }

    #[test]
    fn parse_round_trips_and_rejects_junk() {
        let h = Hash32::of(b"gavel");
        assert_eq!(h.to_string().parse::<Hash32>().unwrap(), h);
        assert!("abc".parse::<Hash32>().is_err());
        assert!("0x1234".parse::<Hash32>().is_err());
    }
}
