//! Groups and exclusions joined with the registration sweep: the members of each configured group
//! and of the exclusion groups are held as sorted 128-bit object ids (16 bytes a member, see
//! BENCHMARKS.md), and every userRegistrationDetails row is looked up by its id while the sweep
//! streams. Excluded users never reach the [`RegistrationAggregator`], so they leave every count it
//! makes; the others are counted there, then once more per group they belong to, with the features
//! and strength tier the aggregator gave them, so group and tenant numbers always agree.

use serde::{Deserialize, Serialize};

use super::registration::{FEATURES, RegistrationAggregator, STRENGTHS};
use crate::reports::registration_details::UserRegistrationDetails;

/// An object id (a GUID such as `0a1b2c3d-0000-4000-8000-000000000001`, any case) as a number.
/// Anything else is `None`: such a row is in no group and excluded by none.
pub(crate) fn parse_object_id(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut n: u128 = 0;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        n = (n << 4) | u128::from(char::from(c).to_digit(16)?);
    }
    Some(n)
}

/// The user members of a group (or of all exclusion groups), sorted for binary search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MemberSet(Vec<u128>);

impl MemberSet {
    pub(crate) fn from_ids(mut ids: Vec<u128>) -> Self {
        ids.sort_unstable();
        ids.dedup();
        ids.shrink_to_fit();
        MemberSet(ids)
    }

    /// The union of several sets (the exclusion groups).
    pub(crate) fn union(sets: impl IntoIterator<Item = MemberSet>) -> Self {
        Self::from_ids(sets.into_iter().flat_map(|s| s.0).collect())
    }

    pub(crate) fn contains(&self, id: u128) -> bool {
        self.0.binary_search(&id).is_ok()
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Bytes held for the members.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<u128>()
    }
}

/// One configured group's counts of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct GroupCounts {
    /// The `group` label value.
    pub(crate) name: String,
    /// The group's members were read before this sweep; when false the counts are zeros and not exported.
    pub(crate) available: bool,
    pub(crate) users: u64,
    /// Parallel to [`FEATURES`].
    pub(crate) features: [u64; FEATURES.len()],
    /// Parallel to [`STRENGTHS`].
    pub(crate) strength: [u64; STRENGTHS.len()],
}

/// What groups and exclusions add to a sweep's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct GroupSummary {
    /// Users of the report left out because an exclusion group holds them.
    pub(crate) excluded_users: u64,
    pub(crate) groups: Vec<GroupCounts>,
}

/// Streams a sweep's rows through the exclusions into the aggregator and the group counts.
#[derive(Debug)]
pub(crate) struct GroupJoin {
    excluded: MemberSet,
    /// Per configured group, its members, or `None` when they could not be read.
    members: Vec<Option<MemberSet>>,
    summary: GroupSummary,
}

impl GroupJoin {
    /// `groups`: each configured group's name and members (`None`: not read).
    pub(crate) fn new(excluded: MemberSet, groups: Vec<(String, Option<MemberSet>)>) -> Self {
        let counts = groups
            .iter()
            .map(|(name, m)| GroupCounts {
                name: name.clone(),
                available: m.is_some(),
                users: 0,
                features: [0; FEATURES.len()],
                strength: [0; STRENGTHS.len()],
            })
            .collect();
        GroupJoin {
            excluded,
            members: groups.into_iter().map(|(_, m)| m).collect(),
            summary: GroupSummary { excluded_users: 0, groups: counts },
        }
    }

    pub(crate) fn add_page(&mut self, aggregator: &mut RegistrationAggregator, rows: &[UserRegistrationDetails<'_>]) {
        for row in rows {
            let id = row.id.as_deref().and_then(parse_object_id);
            if id.is_some_and(|id| self.excluded.contains(id)) {
                self.summary.excluded_users += 1;
                continue;
            }
            let class = aggregator.add(row);
            let Some(id) = id else { continue };
            for (members, counts) in self.members.iter().zip(&mut self.summary.groups) {
                if !members.as_ref().is_some_and(|m| m.contains(id)) {
                    continue;
                }
                counts.users += 1;
                for (total, flag) in counts.features.iter_mut().zip(class.features) {
                    *total += u64::from(flag);
                }
                counts.strength[usize::from(class.strength)] += 1;
            }
        }
    }

    pub(crate) fn finish(self) -> GroupSummary {
        self.summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Breakdown, UserRole, UserType};
    use crate::reports::registration_details::Text;
    use std::borrow::Cow;

    #[test]
    fn object_ids_parse_in_any_case_and_nothing_else_does() {
        let id = parse_object_id("0a1b2c3d-0000-4000-8000-00000000000f").unwrap();
        assert_eq!(id, 0x0a1b2c3d_0000_4000_8000_00000000000f);
        assert_eq!(parse_object_id("0A1B2C3D-0000-4000-8000-00000000000F"), Some(id));
        for bad in [
            "",
            "0a1b2c3d00004000800000000000000f",
            "0a1b2c3d-0000-4000-8000-00000000000g",
            "0a1b2c3d_0000-4000-8000-00000000000f",
        ] {
            assert_eq!(parse_object_id(bad), None, "{bad}");
        }
    }

    /// The figure BENCHMARKS.md gives: 16 bytes a member, whatever the order and repetitions read.
    #[test]
    fn a_member_costs_sixteen_bytes() {
        let n = 100_000u128;
        let ids: Vec<u128> = (0..n).rev().chain(0..10).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect();
        let set = MemberSet::from_ids(ids);
        assert_eq!(set.len(), n as usize);
        assert_eq!(set.heap_bytes(), 16 * n as usize);
        assert!(set.contains(5u128.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        assert!(!set.contains(1));
    }

    fn row(id: &str, methods: &[&'static str], mfa: bool) -> UserRegistrationDetails<'static> {
        UserRegistrationDetails {
            id: Some(Text(Cow::Owned(id.to_string()))),
            methods_registered: methods.iter().map(|m| Text(Cow::Borrowed(*m))).collect(),
            is_mfa_capable: mfa,
            user_type: Some(Text(Cow::Borrowed("member"))),
            ..Default::default()
        }
    }

    #[test]
    fn excluded_rows_reach_no_count_and_groups_count_their_members() {
        let all = Breakdown { user_type: UserType::All, user_role: UserRole::All };
        let mut aggregator = RegistrationAggregator::new(&[all]);
        let ids: Vec<String> = (1..=4).map(|i| format!("00000000-0000-0000-0000-00000000000{i}")).collect();
        let set =
            |which: &[usize]| MemberSet::from_ids(which.iter().map(|&i| parse_object_id(&ids[i]).unwrap()).collect());
        let mut join = GroupJoin::new(set(&[0]), vec![("pilot".into(), Some(set(&[0, 1, 2]))), ("gone".into(), None)]);
        let rows = [
            row(&ids[0], &["fido2SecurityKey"], true),
            row(&ids[1], &["fido2SecurityKey", "mobilePhone"], true),
            row(&ids[2], &["mobilePhone"], true),
            row(&ids[3], &["email"], false),
            row("not-a-guid", &["email"], false),
        ];
        join.add_page(&mut aggregator, &rows);
        let summary = join.finish();
        let tenant = aggregator.finish();
        assert_eq!(summary.excluded_users, 1);
        assert_eq!(tenant.breakdowns[0].users, 4, "the excluded row is not counted");
        let pilot = &summary.groups[0];
        assert_eq!((pilot.available, pilot.users), (true, 2));
        assert_eq!(pilot.features[0], 2, "mfaCapable");
        assert_eq!(pilot.features[7], 1, "phishingResistantCapable");
        assert_eq!(pilot.strength, [1, 0, 0, 1, 0]);
        assert_eq!((summary.groups[1].available, summary.groups[1].users), (false, 0));
    }
}
