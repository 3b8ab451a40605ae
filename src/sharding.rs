//! Sharding tenants across replicas with rendezvous (highest random weight) hashing: every replica
//! computes the same owner for a tenant from its name alone, and going from N to N+1 replicas moves
//! only the tenants the new replica wins (about 1/(N+1) of them), never tenants between old replicas.

use ring::digest;

/// Which shard this process is, out of how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    pub(crate) index: u32,
    pub(crate) count: u32,
}

/// The shard that owns `tenant` among `count` shards.
pub(crate) fn owner(tenant: &str, count: u32) -> u32 {
    (0..count.max(1)).max_by_key(|&shard| weight(tenant, shard)).unwrap_or(0)
}

/// A stable weight: SHA-256, so it is the same on every platform, Rust version and release.
fn weight(tenant: &str, shard: u32) -> u64 {
    let mut input = Vec::with_capacity(tenant.len() + 5);
    input.extend_from_slice(tenant.as_bytes());
    input.push(0);
    input.extend_from_slice(&shard.to_be_bytes());
    let hash = digest::digest(&digest::SHA256, &input);
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_ref()[..8]);
    u64::from_be_bytes(first)
}

/// Resolves the shard from the flags, then the configuration, then (for the index) the pod
/// ordinal at the end of a StatefulSet hostname such as `entra-authmethods-exporter-2`.
pub(crate) fn resolve(
    flag_index: Option<u32>,
    flag_count: Option<u32>,
    config_index: Option<u32>,
    config_count: Option<u32>,
    hostname: Option<&str>,
) -> Result<Option<Shard>, String> {
    let count = flag_count.or(config_count);
    let Some(count) = count else {
        if flag_index.is_some() {
            return Err("--shard.index needs --shard.count (or [sharding] count)".into());
        }
        return Ok(None);
    };
    if count == 0 {
        return Err("the shard count must be at least 1".into());
    }
    let index = match flag_index.or(config_index) {
        Some(i) => i,
        None => pod_ordinal(hostname).ok_or_else(|| {
            format!(
                "shard count {count} given but no shard index: pass --shard.index, set [sharding] index, or run in a StatefulSet whose hostname ends in -<ordinal> (hostname: {:?})",
                hostname.unwrap_or("")
            )
        })?,
    };
    if index >= count {
        return Err(format!("shard index {index} is out of range for {count} shards (0 to {})", count - 1));
    }
    Ok(Some(Shard { index, count }))
}

fn pod_ordinal(hostname: Option<&str>) -> Option<u32> {
    let (_, ordinal) = hostname?.trim().rsplit_once('-')?;
    ordinal.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenants(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("tenant-{i}")).collect()
    }

    #[test]
    fn every_tenant_has_exactly_one_owner_and_shards_are_balanced() {
        let names = tenants(3000);
        let mut per_shard = [0usize; 4];
        for t in &names {
            per_shard[owner(t, 4) as usize] += 1;
        }
        assert_eq!(per_shard.iter().sum::<usize>(), 3000);
        for n in per_shard {
            assert!((600..=900).contains(&n), "unbalanced: {per_shard:?}");
        }
    }

    #[test]
    fn adding_a_replica_moves_only_tenants_to_the_new_one() {
        let names = tenants(3000);
        let mut moved = 0;
        for t in &names {
            let (before, after) = (owner(t, 4), owner(t, 5));
            if before != after {
                assert_eq!(after, 4, "{t} moved between old replicas");
                moved += 1;
            }
        }
        // About a fifth of the tenants go to the fifth replica.
        assert!((450..=750).contains(&moved), "moved {moved}");
    }

    #[test]
    fn owners_are_stable_across_releases() {
        // Pinned: a change here would reshuffle every sharded deployment on upgrade.
        assert_eq!(owner("contoso", 3), owner("contoso", 3));
        let pinned: Vec<u32> = ["contoso", "fabrikam", "northwind", "adatum"].iter().map(|t| owner(t, 3)).collect();
        assert_eq!(pinned, PINNED_OWNERS);
    }

    const PINNED_OWNERS: [u32; 4] = [0, 0, 0, 2];

    #[test]
    fn the_index_comes_from_flags_config_or_the_pod_ordinal() {
        assert_eq!(resolve(None, None, None, None, None), Ok(None));
        assert_eq!(resolve(Some(1), Some(3), None, None, None), Ok(Some(Shard { index: 1, count: 3 })));
        assert_eq!(
            resolve(None, Some(3), None, None, Some("entra-authmethods-exporter-2")),
            Ok(Some(Shard { index: 2, count: 3 }))
        );
        assert_eq!(resolve(None, None, None, Some(2), Some("exp-1")), Ok(Some(Shard { index: 1, count: 2 })));
        assert!(resolve(None, Some(3), None, None, Some("no-ordinal-here")).unwrap_err().contains("no shard index"));
        assert!(resolve(Some(3), Some(3), None, None, None).unwrap_err().contains("out of range"));
        assert!(resolve(Some(0), None, None, None, None).unwrap_err().contains("needs --shard.count"));
        assert!(resolve(None, Some(0), None, None, None).is_err());
    }
}
