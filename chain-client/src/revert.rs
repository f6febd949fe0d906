//! Revert reasons in plain language.
//!
//! Every custom error of the contracts is decoded from the ABI snapshots (types and
//! parameter names) and described by its NatSpec `@notice` (from `contracts/abi/errors.json`),
//! so `InsufficientFreeStake(7, 5e18, 1e18)` reads
//! `device 7 has less free stake than requested (InsufficientFreeStake: device = 7, ...)`.
//! Nothing here is written by hand per error: a new error in a contract is described as
//! soon as `scripts/abi` snapshots it.

use std::{collections::HashMap, fmt, sync::OnceLock};

use alloy::{
    dyn_abi::{DynSolValue, ErrorExt},
    json_abi::Error as AbiError,
    primitives::{Selector, U256, hex},
};
use serde::{Deserialize, Serialize};

use crate::artifacts::{ARTIFACTS, ERRORS_JSON, enums};

/// A decoded revert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revert {
    /// The custom error's name (`StakeBelowMinimum`), `Error` for `require` strings,
    /// `Panic` for Solidity panics, `None` for a revert without data or unknown data.
    pub name: Option<String>,
    /// The plain-language description.
    pub message: String,
    /// The parameters, in order, with their values formatted for people.
    pub args: Vec<RevertArg>,
}

/// One parameter of a decoded custom error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevertArg {
    /// The parameter's name in the contract.
    pub name: String,
    /// Its value, formatted (numbers in decimal, enums by member name).
    pub value: String,
}

impl fmt::Display for Revert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match (&self.name, self.args.is_empty()) {
            (Some(name), false) if name != "Error" => {
                write!(f, " ({name}: ")?;
                for (i, a) in self.args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} = {}", a.name, a.value)?;
                }
                f.write_str(")")
            }
            (Some(name), true) if name != "Error" => write!(f, " ({name})"),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Deserialize)]
struct ErrorDoc {
    selector: String,
    #[serde(default)]
    notice: String,
}

struct Known {
    abi: AbiError,
    notice: String,
}

fn known() -> &'static HashMap<Selector, Known> {
    static KNOWN: OnceLock<HashMap<Selector, Known>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let docs: Vec<ErrorDoc> =
            serde_json::from_str(ERRORS_JSON).expect("contracts/abi/errors.json is valid (tested)");
        let notices: HashMap<String, String> =
            docs.into_iter().map(|d| (d.selector.to_lowercase(), d.notice)).collect();
        let mut map = HashMap::new();
        for artifact in ARTIFACTS {
            for abi in artifact.abi().errors() {
                let selector = abi.selector();
                let notice = notices.get(&selector.to_string()).cloned().unwrap_or_default();
                map.entry(selector).or_insert_with(|| Known { abi: abi.clone(), notice });
            }
        }
        map
    })
}

/// The selectors of every custom error the embedded contracts can revert with.
pub fn known_errors() -> Vec<(Selector, String)> {
    let mut v: Vec<_> = known().iter().map(|(s, k)| (*s, k.abi.signature())).collect();
    v.sort();
    v
}

/// Turns a camel-case identifier into words: `StakeBelowMinimum` -> `stake below minimum`.
fn words(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let boundary = i > 0
            && c.is_uppercase()
            && (chars[i - 1].is_lowercase() || chars.get(i + 1).is_some_and(|n| n.is_lowercase()));
        if boundary {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out.trim_end_matches('_').to_owned()
}

/// Lower-cases the first letter (unless the second is upper-case too, as in `EVM`) and drops a
/// trailing full stop, so a NatSpec sentence reads as part of an error message.
fn as_clause(notice: &str) -> String {
    let s = notice.trim().trim_end_matches('.');
    let mut chars = s.chars();
    match (chars.next(), s.chars().nth(1)) {
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => s.to_owned(),
    }
}

/// Formats a decoded value for people.
pub(crate) fn format_value(value: &DynSolValue, internal_type: Option<&str>) -> String {
    if let (DynSolValue::Uint(v, 8), Some(t)) = (value, internal_type)
        && let Some(name) = t.strip_prefix("enum ")
        && let Some(members) = enums().get(name)
        && let Some(member) = usize::try_from(*v).ok().and_then(|i| members.get(i))
    {
        return member.clone();
    }
    match value {
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::Int(i, _) => i.to_string(),
        DynSolValue::Uint(u, _) => u.to_string(),
        DynSolValue::Address(a) => a.to_checksum(None),
        DynSolValue::FixedBytes(w, size) => hex::encode_prefixed(&w[..*size]),
        DynSolValue::Bytes(b) => hex::encode_prefixed(b),
        DynSolValue::String(s) => format!("{s:?}"),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) | DynSolValue::Tuple(items) => {
            let inner: Vec<String> = items.iter().map(|v| format_value(v, None)).collect();
            format!("[{}]", inner.join(", "))
        }
        other => format!("{other:?}"),
    }
}

fn panic_reason(code: U256) -> &'static str {
    match code.to::<u64>() {
        0x01 => "an assertion failed",
        0x11 => "an arithmetic operation overflowed",
        0x12 => "division or modulo by zero",
        0x21 => "a value out of range was converted to an enum",
        0x22 => "a storage byte array was incorrectly encoded",
        0x31 => "pop() on an empty array",
        0x32 => "an array index was out of bounds",
        0x41 => "too much memory was allocated",
        0x51 => "a zero-initialised function pointer was called",
        _ => "the contract panicked",
    }
}

impl Revert {
    /// Decodes revert data: a custom error of the contracts, `Error(string)`, `Panic(uint256)`,
    /// or a description of unknown data.
    pub fn decode(data: &[u8]) -> Self {
        if data.is_empty() {
            return Self { name: None, message: "the contract reverted without a reason".into(), args: vec![] };
        }
        if data.len() < 4 {
            return Self {
                name: None,
                message: format!("the contract reverted with data {}", hex::encode_prefixed(data)),
                args: vec![],
            };
        }
        let selector = Selector::from_slice(&data[..4]);
        if let Some(k) = known().get(&selector)
            && let Ok(decoded) = k.abi.decode_error(data)
        {
            let args: Vec<RevertArg> = k
                .abi
                .inputs
                .iter()
                .zip(decoded.body.iter())
                .enumerate()
                .map(|(i, (param, value))| RevertArg {
                    name: if param.name.is_empty() {
                        format!("arg{i}")
                    } else {
                        param.name.trim_end_matches('_').to_owned()
                    },
                    value: format_value(value, param.internal_type.as_ref().map(|t| t.to_string()).as_deref()),
                })
                .collect();
            let message = if k.notice.is_empty() { words(&k.abi.name) } else { as_clause(&k.notice) };
            return Self { name: Some(k.abi.name.clone()), message, args };
        }

        // Error(string) and Panic(uint256), the two built-in reasons.
        if selector == Selector::from([0x08, 0xc3, 0x79, 0xa0])
            && let Ok(DynSolValue::String(s)) = alloy::dyn_abi::DynSolType::String.abi_decode(&data[4..])
        {
            return Self { name: Some("Error".into()), message: s, args: vec![] };
        }
        if selector == Selector::from([0x4e, 0x48, 0x7b, 0x71]) && data.len() == 36 {
            let code = U256::from_be_slice(&data[4..36]);
            return Self {
                name: Some("Panic".into()),
                message: panic_reason(code).into(),
                args: vec![RevertArg { name: "code".into(), value: format!("{code:#x}") }],
            };
        }
        Self {
            name: None,
            message: format!(
                "the contract reverted with an unknown error {selector} (data {})",
                hex::encode_prefixed(data)
            ),
            args: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy::{dyn_abi::JsonAbiExt, primitives::U256};

    use super::*;

    #[test]
    fn words_split_camel_case_and_acronyms() {
        assert_eq!(words("StakeBelowMinimum"), "stake below minimum");
        assert_eq!(words("EVMFailure"), "evm failure");
        assert_eq!(words("ZeroAddress"), "zero address");
    }

    #[test]
    fn every_custom_error_has_a_notice_and_decodes_with_its_parameters() {
        assert!(!known().is_empty());
        for k in known().values() {
            assert!(!k.notice.is_empty(), "{} has no @notice in contracts/abi/errors.json", k.abi.signature());
            let values: Vec<DynSolValue> = k
                .abi
                .inputs
                .iter()
                .map(|p| match p.ty.as_str() {
                    "address" => DynSolValue::Address(Default::default()),
                    "bool" => DynSolValue::Bool(true),
                    t if t.starts_with("uint") => DynSolValue::Uint(U256::from(7), t[4..].parse().unwrap_or(256)),
                    t if t.starts_with("int") => DynSolValue::Int(Default::default(), t[3..].parse().unwrap_or(256)),
                    t if t.starts_with("bytes") && t.len() > 5 => {
                        DynSolValue::FixedBytes(Default::default(), t[5..].parse().unwrap())
                    }
                    _ => DynSolValue::String("x".into()),
                })
                .collect();
            let mut data = k.abi.selector().to_vec();
            data.extend(k.abi.abi_encode_input(&values).unwrap());
            let r = Revert::decode(&data);
            assert_eq!(r.name.as_deref(), Some(k.abi.name.as_str()));
            assert_eq!(r.args.len(), k.abi.inputs.len());
            let text = r.to_string();
            assert!(!text.is_empty() && text.contains(&k.abi.name) || k.abi.inputs.is_empty(), "{text}");
        }
    }

    #[test]
    fn builtin_reasons_and_unknown_data() {
        let mut data = vec![0x08, 0xc3, 0x79, 0xa0];
        data.extend(DynSolValue::String("nope".into()).abi_encode_params());
        assert_eq!(Revert::decode(&data).to_string(), "nope");
        let mut panic = vec![0x4e, 0x48, 0x7b, 0x71];
        panic.extend(U256::from(0x11).to_be_bytes::<32>());
        assert_eq!(Revert::decode(&panic).to_string(), "an arithmetic operation overflowed (Panic: code = 0x11)");
        assert!(Revert::decode(&[]).message.contains("without a reason"));
        assert!(Revert::decode(&[1, 2, 3, 4, 5]).message.contains("unknown error 0x01020304"));
    }
}
