//! Validation of the whole configuration: the state file, `[graph]`, every tenant (tenant.rs) and
//! `[sharding]`. Pure but for the state file's directory check; errors name the keys at fault.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::credential::AzureEnv;
use super::loading::Invalid;
use super::raw::{RawConfig, RawGraph};
use super::strength::validate_method_strength;
use super::tenant::validate_tenant;
use super::{GraphSettings, Settings, schema};

pub(super) fn validate(raw: RawConfig, azure: &AzureEnv) -> Result<Settings, Invalid> {
    let state_file = raw.state_file.map(validate_state_file).transpose()?;
    let graph = validate_graph(raw.graph)?;
    // Shared by every tenant: each tenant's settings carry it, so that a reload changing it restarts them.
    let method_strength = std::sync::Arc::new(validate_method_strength(raw.method_strength.0)?);
    if raw.tenants.is_empty() {
        return Err(Invalid::new(
            &[],
            "no [[tenant]] configured: add at least one [[tenant]] table with name, tenant_id, client_id and client_secret_file",
        ));
    }
    let mut names = HashSet::new();
    let mut tenants = Vec::with_capacity(raw.tenants.len());
    let mut warnings = Vec::new();
    let mut auto_choices = Vec::new();
    for (index, t) in raw.tenants.into_iter().enumerate() {
        let mut tenant = validate_tenant(index, t, azure, &mut warnings, &mut auto_choices)?;
        tenant.method_strength = method_strength.clone();
        if !names.insert(tenant.name.clone()) {
            return Err(Invalid::new(
                &[&format!("tenant[{index}].name")],
                format!(
                    "{}: name = {:?} is used by an earlier tenant; tenant names must be unique",
                    schema::tenant_label(index, Some(&tenant.name)),
                    tenant.name
                ),
            ));
        }
        tenants.push(tenant);
    }
    let (sharding_index, sharding_count) = (raw.sharding.index, raw.sharding.count);
    if let (Some(index), Some(count)) = (sharding_index, sharding_count)
        && index >= count
    {
        return Err(Invalid::new(
            &["sharding.index", "sharding.count"],
            format!("sharding.index = {index} is out of range for sharding.count = {count}"),
        ));
    }
    if sharding_count == Some(0) {
        return Err(Invalid::new(&["sharding.count"], "sharding.count = 0: it must be at least 1"));
    }
    Ok(Settings {
        graph,
        tenants,
        state_file,
        sharding_index,
        sharding_count,
        warnings,
        auto_choices,
        origins: Vec::new(),
    })
}

/// The state file itself may not exist yet, but its directory must: the file is replaced by
/// renaming a temporary file written next to it.
fn validate_state_file(path: PathBuf) -> Result<PathBuf, Invalid> {
    let err = |msg: String| {
        Err(Invalid::new(&["state_file"], format!("state_file = {:?}: {msg}", path.display().to_string())))
    };
    if path.as_os_str().is_empty() || path.file_name().is_none() {
        return err("not a file path".into());
    }
    if path.is_dir() {
        return err(
            "is a directory; expected a file path such as /var/lib/entra-authmethods-exporter/state.json".into()
        );
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return err(format!("directory {} does not exist", dir.display()));
    }
    Ok(path)
}

fn validate_graph(g: RawGraph) -> Result<GraphSettings, Invalid> {
    let err = |key: &str, msg: String| Err(Invalid::new(&[&format!("graph.{key}")], format!("graph.{key}: {msg}")));
    if g.page_size == 0 || g.page_size > 1000 {
        return err("page_size", format!("{} is out of range; Graph serves 1 to 1000 rows a page", g.page_size));
    }
    if g.max_pages == 0 {
        return err("max_pages", "must be at least 1".into());
    }
    if g.max_attempts == 0 || g.max_attempts > 20 {
        return err("max_attempts", format!("{} is out of range 1..=20", g.max_attempts));
    }
    if g.max_concurrent_polls == 0 {
        return err("max_concurrent_polls", "must be at least 1".into());
    }
    if g.rate_limit_requests == 0 {
        return err("rate_limit_requests", "must be at least 1".into());
    }
    for (key, d) in [
        ("connect_timeout", g.connect_timeout),
        ("request_timeout", g.request_timeout),
        ("poll_timeout", g.poll_timeout),
        ("rate_limit_period", g.rate_limit_period),
        ("retry_backoff_max", g.retry_backoff_max),
    ] {
        if d.is_zero() {
            return err(key, "must be greater than zero".into());
        }
    }
    if g.retry_backoff_base > g.retry_backoff_max {
        return Err(Invalid::new(
            &["graph.retry_backoff_base", "graph.retry_backoff_max"],
            format!(
                "graph.retry_backoff_base: {} is larger than retry_backoff_max {}",
                humantime::format_duration(g.retry_backoff_base),
                humantime::format_duration(g.retry_backoff_max)
            ),
        ));
    }
    Ok(GraphSettings {
        connect_timeout: g.connect_timeout,
        request_timeout: g.request_timeout,
        poll_timeout: g.poll_timeout,
        max_attempts: g.max_attempts,
        retry_backoff_base: g.retry_backoff_base,
        retry_backoff_max: g.retry_backoff_max,
        page_size: g.page_size,
        max_pages: g.max_pages,
        rate_limit_requests: g.rate_limit_requests,
        rate_limit_period: g.rate_limit_period,
        max_concurrent_polls: g.max_concurrent_polls,
        max_method_values: g.max_method_values,
    })
}
