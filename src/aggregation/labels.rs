//! Serde helpers for the aggregates kept in the state file.
//!
//! A few label values are `&'static str` drawn from small fixed sets (periods, daily kinds,
//! outcomes). Reading them back maps the text onto the same static values; a value outside the set
//! is a decode error, so a foreign file can never invent label values. Maps with tuple keys are
//! written as lists of entries, since JSON object keys must be strings.

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::reports::activity::PERIODS;
use crate::reports::legacy::USAGE_PERIODS;

/// Every `&'static str` label value the aggregates can hold, besides the periods.
const FIXED: &[&str] = &[
    "success",
    "failure",
    // userMfaSignInSummary
    "total",
    "multi_factor",
    "single_factor",
    // userPasswordResetsAndChangesSummary
    "admin_reset",
    "self_service_reset",
    "self_service_change",
];

/// The static label value spelled `text`, if it is one. State files of earlier releases spell the
/// legacy usage periods `D1`/`D7`/`D30`; they read back as today's `d1`/`d7`/`d30`.
pub(crate) fn intern(text: &str) -> Option<&'static str> {
    let legacy_period = ["D1", "D7", "D30"].contains(&text);
    let wanted = if legacy_period { text.to_ascii_lowercase() } else { text.to_owned() };
    PERIODS.iter().chain(USAGE_PERIODS.iter()).chain(FIXED.iter()).copied().find(|v| **v == *wanted)
}

fn interned<E: serde::de::Error>(text: &str) -> Result<&'static str, E> {
    intern(text).ok_or_else(|| E::custom(format!("unknown label value {text:?}")))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let text = String::deserialize(d)?;
    interned(&text)
}

pub(crate) fn deserialize_pairs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(&'static str, i64)>, D::Error> {
    Vec::<(String, i64)>::deserialize(d)?.into_iter().map(|(k, v)| Ok((interned(&k)?, v))).collect()
}

/// A `BTreeMap` as a list of `[key, value]` entries.
pub(crate) mod entries {
    use super::*;

    pub(crate) fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub(crate) fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

/// `EventSummary::events`: entries whose key ends with an interned outcome.
pub(crate) mod event_entries {
    use super::*;

    type Key = (String, String, &'static str);

    pub(crate) fn serialize<S: Serializer>(map: &BTreeMap<Key, u64>, s: S) -> Result<S::Ok, S::Error> {
        super::entries::serialize(map, s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<Key, u64>, D::Error> {
        let raw = Vec::<((String, String, String), u64)>::deserialize(d)?;
        let mut out = BTreeMap::new();
        for ((feature, method, outcome), n) in raw {
            let outcome = interned(&outcome)?;
            if !matches!(outcome, "success" | "failure") {
                return Err(D::Error::custom(format!("unknown outcome {outcome:?}")));
            }
            out.insert((feature, method, outcome), n);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_intern_to_statics_and_others_are_rejected() {
        assert_eq!(intern("d7"), Some("d7"));
        assert_eq!(intern("D30"), Some("d30"), "the spelling of earlier state files");
        assert_eq!(intern("d30"), Some("d30"));
        assert_eq!(intern("self_service_change"), Some("self_service_change"));
        assert_eq!(intern("d8"), None);
        assert!(serde_json::from_str::<Vec<(&str, i64)>>("[[\"x\",1]]").is_ok());
        let mut de = serde_json::Deserializer::from_str("[[\"x\",1]]");
        assert!(deserialize_pairs(&mut de).is_err());
    }
}
