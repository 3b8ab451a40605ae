//! Group memberships and the group families' truth, computed from the simulator's public group data
//! (`groups_of`: direct members, nested groups, devices) with a breadth-first walk of our own, never
//! with the exporter's code.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use graph_simulator::{Population, groups_of};

use super::truth::{STRENGTHS, features_and_strength};

/// The user object ids among the transitive members of the group named `name`: its direct users,
/// and those of every group nested in it at any depth; devices are no users.
pub fn transitive_users(pop: &Population, tenant_id: &str, name: &str) -> HashSet<String> {
    let groups = groups_of(pop, tenant_id);
    let start = groups.iter().position(|g| g.name == name).expect("a simulator group");
    let mut seen = BTreeSet::from([start]);
    let mut queue = VecDeque::from([start]);
    let mut users = HashSet::new();
    while let Some(i) = queue.pop_front() {
        users.extend(groups[i].users.iter().cloned());
        for nested in &groups[i].groups {
            let j = groups.iter().position(|g| &g.id == nested).expect("nested groups are groups");
            if seen.insert(j) {
                queue.push_back(j);
            }
        }
    }
    users
}

/// Expected series of one family, labels (name, value) sorted.
pub type Series = BTreeMap<BTreeMap<String, String>, f64>;

/// The three group families for `groups` (label, members) of `tenant`: users of the report (listed,
/// that is enabled) who are members and not `excluded`, with the `[method_strength]` entries
/// `overrides` over the default tiers.
pub fn group_families(
    tenant: &str,
    pop: &Population,
    groups: &[(&str, &HashSet<String>)],
    excluded: &HashSet<String>,
    overrides: &[(&str, &str)],
) -> (Series, Series, Series) {
    let (mut users, mut by_feature, mut by_strength) = (Series::new(), Series::new(), Series::new());
    let labels = |group: &str, extra: Option<(&str, &str)>| {
        let mut l = BTreeMap::from([("tenant".to_string(), tenant.to_string()), ("group".into(), group.to_string())]);
        if let Some((k, v)) = extra {
            l.insert(k.into(), v.into());
        }
        l
    };
    for (group, members) in groups {
        users.insert(labels(group, None), 0.0);
        for f in features_and_strength(&pop.users[0], &[]).0.map(|(f, _)| f) {
            by_feature.insert(labels(group, Some(("feature", f))), 0.0);
        }
        for s in STRENGTHS {
            by_strength.insert(labels(group, Some(("strength", s))), 0.0);
        }
        for u in pop.users.iter().filter(|u| u.enabled && members.contains(&u.id) && !excluded.contains(&u.id)) {
            let (features, strength) = features_and_strength(u, overrides);
            *users.get_mut(&labels(group, None)).unwrap() += 1.0;
            for (f, _) in features.iter().filter(|(_, on)| *on) {
                *by_feature.get_mut(&labels(group, Some(("feature", f)))).unwrap() += 1.0;
            }
            *by_strength.get_mut(&labels(group, Some(("strength", strength)))).unwrap() += 1.0;
        }
    }
    (users, by_feature, by_strength)
}
