//! `ENTRA_AUTHMETHODS__…` environment variables. Each one is checked against the schema (a known key,
//! a value of its kind, a tenant index that exists) before it is merged over the file, so that a
//! problem names the variable instead of the file, and each merged key remembers its variable so
//! that later validation errors can name it too.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use config::ValueKind;

use super::ENV_PREFIX;
use super::schema::{
    GRAPH, Kind, REPORT, SHARDING, TENANT, TOP_LEVEL, TOP_LEVEL_NAMES, kind_of, names, parse_env_value, tenant_label,
    unknown_report,
};
use crate::catalog::ReportKind;

/// One environment variable, checked and ready to merge.
pub(super) struct EnvOverride {
    /// The variable's name as set.
    pub(super) var: String,
    /// The key in the configuration: `graph.page_size`, `tenant[0].poll_interval`,
    /// `tenant[0].reports.user_events_summary.lookback`.
    pub(super) path: String,
    pub(super) value: ValueKind,
}

/// Checks every `ENTRA_AUTHMETHODS__…` variable of `env`. `file_tenants` holds the names of the
/// file's `[[tenant]]` tables (`None`: there is no file). The error is one line starting with
/// `environment variable NAME: `; it never contains a value of a secret key.
pub(super) fn overrides(
    env: &HashMap<String, String>,
    file_tenants: Option<&[Option<String>]>,
) -> Result<Vec<EnvOverride>, String> {
    let prefix = format!("{ENV_PREFIX}__");
    let mut vars: Vec<(&str, Vec<String>, &str)> = env
        .iter()
        .filter_map(|(name, value)| {
            let head = name.get(..prefix.len())?;
            let rest = name.get(prefix.len()..)?;
            head.eq_ignore_ascii_case(&prefix)
                .then(|| (name.as_str(), rest.split("__").map(str::to_ascii_lowercase).collect(), value.as_str()))
        })
        .collect();
    vars.sort_by(|a, b| a.0.cmp(b.0));

    // Tenants the environment addresses, and the names it gives them, before any is resolved: an
    // index is valid when a later variable adds the tenants before it, and messages use the names.
    let mut env_indexes = BTreeSet::new();
    let mut env_names = BTreeMap::new();
    for (_, segments, value) in &vars {
        if let [first, index, rest @ ..] = segments.as_slice()
            && first == "tenant"
            && let Ok(index) = index.parse::<usize>()
        {
            env_indexes.insert(index);
            if rest == ["name"] {
                env_names.insert(index, value.to_string());
            }
        }
    }
    let name_of = |index: usize| -> Option<String> {
        env_names.get(&index).cloned().or_else(|| file_tenants.and_then(|t| t.get(index).cloned().flatten()))
    };

    let mut out: Vec<EnvOverride> = Vec::with_capacity(vars.len());
    for (var, segments, text) in vars {
        let fail = |msg: String| format!("environment variable {var}: {msg}");
        if segments.iter().any(String::is_empty) {
            return Err(fail(format!(
                "expected {prefix}<KEY>, with __ between the levels of the key, e.g. {prefix}GRAPH__PAGE_SIZE or {prefix}TENANT__0__CLIENT_SECRET_FILE"
            )));
        }
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let (path, place, kind) = resolve(&segments, file_tenants, &env_indexes, &name_of).map_err(fail)?;
        if let Some(earlier) = out.iter().find(|o| o.path == path) {
            return Err(fail(format!("{place} is also set by the environment variable {}", earlier.var)));
        }
        let value = parse_env_value(&place, kind, text).map_err(fail)?;
        out.push(EnvOverride { var: var.to_string(), path, value });
    }
    Ok(out)
}

/// The key a variable sets: its path for the config crate, how messages show it, and its kind.
fn resolve(
    segments: &[&str],
    file_tenants: Option<&[Option<String>]>,
    env_indexes: &BTreeSet<usize>,
    name_of: &dyn Fn(usize) -> Option<String>,
) -> Result<(String, String, Kind), String> {
    let prefix = format!("{ENV_PREFIX}__");
    let dotted = segments.join(".");
    let leaf = |path: String, place: String, kind: Kind, extra: &[&str]| {
        if extra.is_empty() {
            Ok((path, place, kind))
        } else {
            Err(format!("{place} takes a value; it has no key {}", extra.join(".")))
        }
    };
    match segments {
        [table @ ("graph" | "sharding"), rest @ ..] => {
            let keys = if *table == "graph" { GRAPH } else { SHARDING };
            let Some((key, extra)) = rest.split_first() else {
                return Err(format!(
                    "{table} is a table: name one of its keys ({}), e.g. {prefix}{}__{}",
                    names(keys),
                    table.to_ascii_uppercase(),
                    keys[0].0.to_ascii_uppercase()
                ));
            };
            match kind_of(keys, key) {
                Some(kind) => leaf(format!("{table}.{key}"), format!("{table}.{key}"), kind, extra),
                None => Err(format!("unknown key {dotted} (known: {})", names(keys))),
            }
        }
        ["tenant", rest @ ..] => {
            let usage =
                || format!("expected {prefix}TENANT__<index>__<KEY>, e.g. {prefix}TENANT__0__CLIENT_SECRET_FILE");
            let Some((index, rest)) = rest.split_first() else { return Err(usage()) };
            let Some(index) = index.parse::<usize>().ok().filter(|_| index.bytes().all(|b| b.is_ascii_digit())) else {
                return Err(usage());
            };
            if rest.is_empty() {
                return Err(usage());
            }
            check_index(index, file_tenants, env_indexes)?;
            let label = tenant_label(index, name_of(index).as_deref());
            let base = format!("tenant[{index}]");
            match rest {
                ["reports", more @ ..] => match more {
                    [] => Err(format!(
                        "{label}: reports is a table: name a report and one of its keys, e.g. {prefix}TENANT__{index}__REPORTS__USER_EVENTS_SUMMARY__INTERVAL"
                    )),
                    [report, ..] if ReportKind::from_name(report).is_none() => Err(unknown_report(&label, report)),
                    [report] => {
                        Err(format!("{label}: reports.{report} is a table: name one of its keys ({})", names(REPORT)))
                    }
                    [report, key, extra @ ..] => match kind_of(REPORT, key) {
                        Some(kind) => leaf(
                            format!("{base}.reports.{report}.{key}"),
                            format!("{label}: reports.{report}.{key}"),
                            kind,
                            extra,
                        ),
                        None => Err(format!(
                            "{label}: unknown key reports.{report}.{} (known: {})",
                            more[1..].join("."),
                            names(REPORT)
                        )),
                    },
                },
                [key, extra @ ..] => match kind_of(TENANT, key) {
                    Some(kind) => leaf(format!("{base}.{key}"), format!("{label}: {key}"), kind, extra),
                    None => Err(format!("{label}: unknown key {} (known: {}, reports)", rest.join("."), names(TENANT))),
                },
                [] => Err(usage()),
            }
        }
        // Environment variable names are upper case (and read case-insensitively), so they cannot
        // spell Graph's camelCase method names.
        ["method_strength", ..] => Err(
            "method_strength is set in the configuration file only: its keys are camelCase method names (such as microsoftAuthenticatorPush), which environment variable names cannot carry"
                .into(),
        ),
        [key, extra @ ..] => match kind_of(TOP_LEVEL, key) {
            Some(kind) => leaf(key.to_string(), key.to_string(), kind, extra),
            None => Err(format!("unknown key {dotted} (known: {})", TOP_LEVEL_NAMES.join(", "))),
        },
        [] => Err(format!("expected {prefix}<KEY>, e.g. {prefix}GRAPH__PAGE_SIZE")),
    }
}

/// A variable may change one of the file's tenants, or add tenants right after them: a gap would
/// leave a tenant without any key.
fn check_index(
    index: usize,
    file_tenants: Option<&[Option<String>]>,
    env_indexes: &BTreeSet<usize>,
) -> Result<(), String> {
    let defined = file_tenants.map_or(0, <[_]>::len);
    if index < defined || (defined..=index).all(|i| env_indexes.contains(&i)) {
        return Ok(());
    }
    let missing = (defined..index).find(|i| !env_indexes.contains(i)).unwrap_or(defined);
    Err(match file_tenants {
        Some(_) => {
            let what = match defined {
                0 => "the file defines no [[tenant]]".to_string(),
                1 => "the file defines only tenant 0".to_string(),
                n => format!("the file defines tenants 0 to {}", n - 1),
            };
            format!(
                "there is no tenant {index} ({what}); tenant indexes in the environment must follow the file's [[tenant]] tables, and tenants added by the environment continue from {defined} without gaps (no variable sets tenant {missing})"
            )
        }
        None => format!(
            "there is no tenant {index}: without a config file, the tenants of the environment are numbered from 0 without gaps (no variable sets tenant {missing})"
        ),
    })
}
