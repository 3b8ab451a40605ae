//! Label values from Graph (method names) interned in one process-wide table, and the compact
//! name → count lists that per-tenant summaries keep instead of maps with an owned `String` per
//! entry.
//!
//! Every tenant's registration summary holds, per breakdown, the documented method and default-method
//! names plus the few undocumented ones Graph sent. As a `BTreeMap<String, u64>` the 19 documented
//! methods took 1,566 bytes in 22 allocations and the 8 default methods 430 bytes in 9 (measured with
//! a counting allocator, before glibc's rounding and headers). An interned [`Name`] is one thin
//! pointer to a string stored once for the process, so an entry is 16 bytes in one boxed slice: 304
//! and 128 bytes, one allocation each.
//!
//! The table only grows: a name stays for the life of the process. What it holds is bounded by the
//! distinct values ever seen: the documented ones shared by every tenant, plus per tenant at most
//! `[graph] max_method_values` others, which stay admitted for the life of the tenant's entry
//! (fold.rs), plus what state files brought.

use std::collections::HashMap;
use std::fmt;
use std::sync::{LazyLock, Mutex};

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An interned label value: a thin pointer to the process's one copy of the string.
#[derive(Clone, Copy)]
pub(crate) struct Name(&'static String);

static TABLE: LazyLock<Mutex<HashMap<&'static str, Name>>> = LazyLock::new(Mutex::default);

impl Name {
    /// The table's name for `s`, added on first use.
    pub(crate) fn intern(s: &str) -> Name {
        let mut table = TABLE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(name) = table.get(s) {
            return *name;
        }
        let stored: &'static String = Box::leak(Box::new(s.to_string()));
        let name = Name(stored);
        table.insert(stored.as_str(), name);
        name
    }

    pub(crate) fn as_str(self) -> &'static str {
        self.0.as_str()
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        // One copy per distinct string, so the address decides.
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Name {}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    /// By the string, as the owned strings were ordered.
    fn cmp(&self, other: &Name) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name::intern(s)
    }
}

/// Written and read as the plain string, so a row keyed by names reads what one with owned strings
/// wrote.
impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Name, D::Error> {
        Ok(Name::intern(&String::deserialize(deserializer)?))
    }
}

/// A label value that folding (fold.rs) can replace with `other`: owned while a poll reads Graph's
/// answers, interned where it is kept.
pub(crate) trait LabelValue {
    fn as_label(&self) -> &str;
    fn other() -> Self;
}

impl LabelValue for String {
    fn as_label(&self) -> &str {
        self
    }

    fn other() -> String {
        super::fold::OTHER.to_string()
    }
}

impl LabelValue for Name {
    fn as_label(&self) -> &str {
        self.as_str()
    }

    fn other() -> Name {
        Name::intern(super::fold::OTHER)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Counts by name, sorted by name (byte order, as a `BTreeMap<String, u64>` iterates), each name
/// once. Serialized as the same JSON object of name → count such a map writes, so state files did not
/// change with it.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct NameCounts {
    entries: Box<[(Name, u64)]>,
}

impl NameCounts {
    /// Entries in name order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.entries.iter().map(|(name, n)| (name.as_str(), *n))
    }

    #[cfg(test)]
    pub(crate) fn get(&self, name: &str) -> Option<u64> {
        self.position(name).ok().map(|i| self.entries[i].1)
    }

    #[cfg(test)]
    pub(crate) fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_ok()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[cfg(test)]
    /// Bytes on the heap (the names are the table's, shared).
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.entries)
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }

    /// From interned entries in any order; of a name given twice the last count stays (as when
    /// collecting into a map).
    pub(crate) fn from_entries(mut entries: Vec<(Name, u64)>) -> NameCounts {
        // Stable, so equal names keep their order and the last of each run is the one given last.
        entries.sort_by(|(a, _), (b, _)| a.as_str().cmp(b.as_str()));
        let mut out: Vec<(Name, u64)> = Vec::with_capacity(entries.len());
        for (name, n) in entries {
            match out.last_mut() {
                Some(last) if last.0 == name => last.1 = n,
                _ => out.push((name, n)),
            }
        }
        NameCounts { entries: out.into_boxed_slice() }
    }
}

impl<S: AsRef<str>> FromIterator<(S, u64)> for NameCounts {
    fn from_iter<I: IntoIterator<Item = (S, u64)>>(iter: I) -> NameCounts {
        NameCounts::from_entries(iter.into_iter().map(|(s, n)| (Name::intern(s.as_ref()), n)).collect())
    }
}

impl std::ops::Index<&str> for NameCounts {
    type Output = u64;

    fn index(&self, name: &str) -> &u64 {
        match self.position(name) {
            Ok(i) => &self.entries[i].1,
            Err(_) => panic!("no count for {name:?}"),
        }
    }
}

impl fmt::Debug for NameCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for NameCounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (name, n) in self.iter() {
            map.serialize_entry(name, &n)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for NameCounts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<NameCounts, D::Error> {
        struct Counts;

        impl<'de> Visitor<'de> for Counts {
            type Value = NameCounts;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of name to count")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NameCounts, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(256));
                // Each key read as a String and dropped once interned.
                while let Some((name, n)) = map.next_entry::<String, u64>()? {
                    entries.push((Name::intern(&name), n));
                }
                Ok(NameCounts::from_entries(entries))
            }
        }

        deserializer.deserialize_map(Counts)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_name_is_stored_once_and_compared_by_its_copy() {
        let a = Name::intern("quantumKeyInterned");
        let b = Name::intern(&String::from("quantumKeyInterned"));
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a, b);
        assert_ne!(a, Name::intern("quantumKeyInterned2"));
    }

    #[test]
    fn counts_iterate_look_up_and_serialize_as_the_map_did() {
        let map: BTreeMap<String, u64> = [("sms", 3), ("push", 1), ("Zeta", 2), ("voiceMobile", 0), ("é\"x", 5)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let counts: NameCounts = map.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            counts.iter().map(|(k, v)| (k.to_string(), v)).collect::<Vec<_>>(),
            map.clone().into_iter().collect::<Vec<_>>()
        );
        assert_eq!(counts.len(), 5);
        assert_eq!(counts["sms"], 3);
        assert_eq!(counts.get("push"), Some(1));
        assert_eq!(counts.get("oath"), None);
        assert!(counts.contains_key("voiceMobile") && !counts.contains_key("oath"));
        assert_eq!(format!("{counts:?}"), format!("{map:?}"));

        let json = serde_json::to_string(&counts).unwrap();
        assert_eq!(json, serde_json::to_string(&map).unwrap(), "the state file's form is the map's");
        let back: NameCounts = serde_json::from_str(&json).unwrap();
        assert_eq!(back, counts);
        // Duplicates: the last wins, as in a map.
        let dup: NameCounts = serde_json::from_str(r#"{"b":1,"a":2,"b":3}"#).unwrap();
        assert_eq!(dup.iter().collect::<Vec<_>>(), [("a", 2), ("b", 3)]);
        assert!(serde_json::from_str::<NameCounts>(r#"{"a":-1}"#).is_err());
        assert!(serde_json::from_str::<NameCounts>("{}").unwrap().is_empty());
    }

    #[test]
    fn names_in_rows_are_written_and_read_as_the_owned_strings_were() {
        let owned: Vec<(String, i64)> = vec![("mfa\"x".into(), 3), ("sms".into(), -1)];
        let interned: Vec<(Name, i64)> = owned.iter().map(|(s, n)| (Name::intern(s), *n)).collect();
        let json = serde_json::to_string(&owned).unwrap();
        assert_eq!(serde_json::to_string(&interned).unwrap(), json);
        assert_eq!(serde_json::from_str::<Vec<(Name, i64)>>(&json).unwrap(), interned);
        assert!(Name::intern("b") > Name::intern("a") && Name::intern("Z") < Name::intern("a"), "byte order");
        assert_eq!(std::mem::size_of::<(Name, i64)>(), 16, "against 32 with a String");
    }

    #[test]
    fn an_entry_is_16_bytes_on_the_heap_and_the_list_16_inline() {
        let names = crate::aggregation::registration::KNOWN_METHODS;
        let counts: NameCounts = names.iter().map(|n| (*n, 1)).collect();
        assert_eq!(counts.heap_bytes(), 16 * names.len());
        assert_eq!(std::mem::size_of::<NameCounts>(), 16);
    }
}
