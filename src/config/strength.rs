//! `[method_strength]`: the operator's changes to the default method → strength-tier table (a method
//! Microsoft adds, or a local policy). Only the overrides live here; the default table and its
//! resolution are the aggregation's (`aggregation::strength`), which config may not import.

use std::collections::BTreeMap;

use super::loading::Invalid;

/// The `strength` label values, strongest first; an override's tier is its index here, and `none`
/// (the last) takes a method out of every tier.
pub(crate) const STRENGTH_TIERS: [&str; 5] = ["phishingResistant", "passwordless", "mfa", "phone", "none"];
/// Index of `none` in [`STRENGTH_TIERS`].
pub(crate) const NO_TIER: u8 = 4;

/// The overrides of `[method_strength]`: method name (as Graph spells it) → index into
/// [`STRENGTH_TIERS`]. Empty when the table is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodStrength {
    pub(crate) overrides: BTreeMap<String, u8>,
}

/// Checks every entry's tier name; the message names the key (`method_strength.<method>`).
pub(super) fn validate_method_strength(raw: BTreeMap<String, String>) -> Result<MethodStrength, Invalid> {
    let mut overrides = BTreeMap::new();
    for (method, tier) in raw {
        let key = format!("method_strength.{method}");
        if method.trim().is_empty() {
            return Err(Invalid::new(&[&key], "method_strength: a method name must not be empty"));
        }
        let Some(index) = STRENGTH_TIERS.iter().position(|t| *t == tier) else {
            let known: Vec<String> = STRENGTH_TIERS.iter().map(|t| format!("{t:?}")).collect();
            return Err(Invalid::new(
                &[&key],
                format!("{key} = {tier:?} is not a strength tier; use one of {}", known.join(", ")),
            ));
        };
        overrides.insert(method, index as u8);
    }
    Ok(MethodStrength { overrides })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_parse_to_their_index_and_unknown_ones_are_refused() {
        let raw = BTreeMap::from([("email".to_string(), "mfa".to_string()), ("sms".to_string(), "none".to_string())]);
        let m = validate_method_strength(raw).unwrap();
        assert_eq!(m.overrides["email"], 2);
        assert_eq!(m.overrides["sms"], NO_TIER);
        let err = validate_method_strength(BTreeMap::from([("email".into(), "strong".into())])).unwrap_err();
        assert_eq!(err.keys, ["method_strength.email"]);
        assert!(
            err.message.starts_with("method_strength.email = \"strong\" is not a strength tier"),
            "{}",
            err.message
        );
    }
}
