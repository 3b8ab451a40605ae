//! The keys the configuration knows and the kind of value each takes. The file and the
//! `ENTRA_AUTHMETHODS__…` environment variables are both checked against this before they are merged,
//! so that an unknown key or a value of the wrong type is reported with its place
//! (`tenant[0] ("contoso"): poll_interval`) and its source, never as a deserializer's internal types.
//! `raw.rs` holds the same keys as structs; a unit test keeps the two in step.

use config::{Map, Value, ValueKind};

use crate::catalog::{REPORTS, ReportKind};

/// The kind of value a key takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// A humantime string: `"90s"`, `"30m"`, `"1h 30m"`.
    Duration,
    /// A whole number from 0 to `u32::MAX`.
    Number,
    Bool,
    /// A string (or path).
    Text,
    /// A string never repeated in a message.
    Secret,
    /// A list of strings; comma-separated in the environment.
    List,
}

pub(super) const TOP_LEVEL: &[(&str, Kind)] = &[("state_file", Kind::Text)];

/// Every top-level name, for the "known:" list of messages.
pub(super) const TOP_LEVEL_NAMES: &[&str] = &["state_file", "graph", "sharding", "tenant", "method_strength"];

pub(super) const GRAPH: &[(&str, Kind)] = &[
    ("connect_timeout", Kind::Duration),
    ("request_timeout", Kind::Duration),
    ("poll_timeout", Kind::Duration),
    ("max_attempts", Kind::Number),
    ("retry_backoff_base", Kind::Duration),
    ("retry_backoff_max", Kind::Duration),
    ("page_size", Kind::Number),
    ("max_pages", Kind::Number),
    ("rate_limit_requests", Kind::Number),
    ("rate_limit_period", Kind::Duration),
    ("max_concurrent_polls", Kind::Number),
    ("max_method_values", Kind::Number),
];

pub(super) const SHARDING: &[(&str, Kind)] = &[("index", Kind::Number), ("count", Kind::Number)];

/// The keys of a `[[tenant]]` table, besides its `reports` tables.
pub(super) const TENANT: &[(&str, Kind)] = &[
    ("name", Kind::Text),
    ("tenant_id", Kind::Text),
    ("client_id", Kind::Text),
    ("client_secret", Kind::Secret),
    ("client_secret_file", Kind::Text),
    ("client_certificate_file", Kind::Text),
    ("client_certificate_key_file", Kind::Text),
    ("credential", Kind::Text),
    ("managed_identity_endpoint", Kind::Text),
    ("managed_identity_header", Kind::Secret),
    ("cloud", Kind::Text),
    ("graph_endpoint", Kind::Text),
    ("login_endpoint", Kind::Text),
    ("poll_interval", Kind::Duration),
    ("user_types", Kind::List),
    ("user_roles", Kind::List),
    ("registration_source", Kind::Text),
    ("refresh_token_file", Kind::Text),
    ("delegated_client_id", Kind::Text),
    ("exclude_groups", Kind::List),
];

/// The keys of a `[[tenant.group]]` table.
pub(super) const GROUP: &[(&str, Kind)] = &[("name", Kind::Text), ("id", Kind::Text)];

/// The keys of a `[tenant.reports.<report>]` table.
pub(super) const REPORT: &[(&str, Kind)] = &[
    ("enabled", Kind::Bool),
    ("interval", Kind::Duration),
    ("lookback", Kind::Duration),
    ("max_failure_reasons", Kind::Number),
    ("max_staleness", Kind::Duration),
];

pub(super) fn kind_of(table: &[(&str, Kind)], key: &str) -> Option<Kind> {
    table.iter().find(|(k, _)| *k == key).map(|&(_, kind)| kind)
}

pub(super) fn names(table: &[(&str, Kind)]) -> String {
    table.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
}

/// `tenant[0] ("contoso")`, or `tenant[0]` while the tenant has no name: the subject of every
/// message about a tenant, followed by `: ` and the key.
pub(super) fn tenant_label(index: usize, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("tenant[{index}] ({n:?})"),
        None => format!("tenant[{index}]"),
    }
}

pub(super) fn unknown_report(label: &str, report: &str) -> String {
    let names: Vec<&str> = REPORTS.iter().map(|r| r.name).collect();
    format!("{label}: reports.{report} is not a report; known reports: {}", names.join(", "))
}

pub(super) const DURATION_HINT: &str =
    "durations are strings with a unit, e.g. \"30m\", \"1h\" or \"1h 30m\" (humantime syntax)";

/// Checks a value from the file. `place` is how the key is shown (`graph.page_size`,
/// `tenant[0] ("contoso"): poll_interval`); the message starts with it.
pub(super) fn check_file_value(place: &str, kind: Kind, value: &ValueKind) -> Result<(), String> {
    let shown = || match value {
        ValueKind::String(s) => format!("{s:?}"),
        ValueKind::I64(n) => n.to_string(),
        ValueKind::I128(n) => n.to_string(),
        ValueKind::U64(n) => n.to_string(),
        ValueKind::U128(n) => n.to_string(),
        ValueKind::Float(f) => f.to_string(),
        ValueKind::Boolean(b) => b.to_string(),
        other => type_name(other).to_string(),
    };
    match (kind, value) {
        (Kind::Duration, ValueKind::String(s)) => check_duration(place, s),
        (Kind::Duration, ValueKind::I64(_) | ValueKind::U64(_) | ValueKind::Float(_)) => {
            Err(format!("{place} = {} is a number, but {DURATION_HINT}", shown()))
        }
        (Kind::Number, ValueKind::I64(n)) if u32::try_from(*n).is_ok() => Ok(()),
        (Kind::Number, ValueKind::I64(_) | ValueKind::U64(_)) => {
            Err(format!("{place} = {} is out of range 0 to {}", shown(), u32::MAX))
        }
        // A quoted number is what the environment gives; accepted from the file as well.
        (Kind::Number, ValueKind::String(s)) => parse_number(place, s).map(drop),
        (Kind::Bool, ValueKind::Boolean(_)) => Ok(()),
        (Kind::Bool, ValueKind::String(s)) => parse_bool(place, s).map(drop),
        (Kind::Text | Kind::Secret, ValueKind::String(_)) => Ok(()),
        (Kind::List, ValueKind::Array(items)) if items.iter().all(|i| matches!(i.kind, ValueKind::String(_))) => Ok(()),
        (Kind::List, _) => {
            Err(format!("{place} must be a list of strings such as [\"all\", \"member\"], not {}", type_name(value)))
        }
        (Kind::Text | Kind::Secret, _) => {
            Err(format!("{place} must be a string (in quotes), not {}", type_name(value)))
        }
        (Kind::Duration, _) => {
            Err(format!("{place} must be a duration string, not {}; {DURATION_HINT}", type_name(value)))
        }
        (Kind::Number, _) => Err(format!("{place} = {} is not a whole number", shown())),
        (Kind::Bool, _) => Err(format!("{place} = {} is not true or false", shown())),
    }
}

/// Parses the text of an environment variable into the value merged over the file.
pub(super) fn parse_env_value(place: &str, kind: Kind, text: &str) -> Result<ValueKind, String> {
    Ok(match kind {
        Kind::Duration => {
            check_duration(place, text)?;
            ValueKind::String(text.to_string())
        }
        Kind::Number => ValueKind::I64(i64::from(parse_number(place, text)?)),
        Kind::Bool => ValueKind::Boolean(parse_bool(place, text)?),
        Kind::Text | Kind::Secret => ValueKind::String(text.to_string()),
        Kind::List => ValueKind::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::new(None, ValueKind::String(s.to_string())))
                .collect(),
        ),
    })
}

fn check_duration(place: &str, text: &str) -> Result<(), String> {
    match humantime::parse_duration(text) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{place} = {text:?} is not a duration ({e}); {DURATION_HINT}")),
    }
}

fn parse_number(place: &str, text: &str) -> Result<u32, String> {
    text.parse::<u32>().map_err(|_| format!("{place} = {text:?} is not a whole number from 0 to {}", u32::MAX))
}

fn parse_bool(place: &str, text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{place} = {text:?} is not true or false")),
    }
}

fn type_name(value: &ValueKind) -> &'static str {
    match value {
        ValueKind::Nil => "an empty value",
        ValueKind::Boolean(_) => "true or false",
        ValueKind::I64(_) | ValueKind::I128(_) | ValueKind::U64(_) | ValueKind::U128(_) => "a number",
        ValueKind::Float(_) => "a number",
        ValueKind::String(_) => "a string",
        ValueKind::Table(_) => "a table",
        ValueKind::Array(_) => "a list",
    }
}

/// Checks the whole file: every key known, every value of its kind. Returns the number of
/// `[[tenant]]` tables and their names (for messages about environment variables).
pub(super) fn check_file(root: &Map<String, Value>) -> Result<Vec<Option<String>>, String> {
    let mut tenants = Vec::new();
    for (key, value) in sorted(root) {
        match key {
            "graph" | "sharding" => {
                let table = if key == "graph" { GRAPH } else { SHARDING };
                let ValueKind::Table(entries) = &value.kind else {
                    return Err(format!("{key} must be a table ([{key}]), not {}", type_name(&value.kind)));
                };
                for (k, v) in sorted(entries) {
                    let place = format!("{key}.{k}");
                    let Some(kind) = kind_of(table, k) else {
                        return Err(format!("unknown key {place} (known: {})", names(table)));
                    };
                    check_file_value(&place, kind, &v.kind)?;
                }
            }
            "method_strength" => check_method_strength(&value.kind)?,
            "tenant" => {
                let items = match &value.kind {
                    ValueKind::Array(items) => items,
                    ValueKind::Table(_) => {
                        return Err(
                            "tenant must be written [[tenant]] (a list of tables, one per tenant), not [tenant]".into(),
                        );
                    }
                    other => {
                        return Err(format!("tenant must be [[tenant]] tables, not {}", type_name(other)));
                    }
                };
                for (index, item) in items.iter().enumerate() {
                    let ValueKind::Table(entries) = &item.kind else {
                        return Err(format!(
                            "tenant[{index}] must be a [[tenant]] table, not {}",
                            type_name(&item.kind)
                        ));
                    };
                    let name = match entries.get("name").map(|v| &v.kind) {
                        Some(ValueKind::String(s)) => Some(s.clone()),
                        _ => None,
                    };
                    check_tenant(&tenant_label(index, name.as_deref()), entries)?;
                    tenants.push(name);
                }
            }
            _ => match kind_of(TOP_LEVEL, key) {
                Some(kind) => check_file_value(key, kind, &value.kind)?,
                None => return Err(format!("unknown key {key} (known: {})", TOP_LEVEL_NAMES.join(", "))),
            },
        }
    }
    Ok(tenants)
}

/// `[method_strength]`: a table whose keys are method names (any) and whose values are strings; the
/// tier names themselves are checked by validation, which names the key.
fn check_method_strength(value: &ValueKind) -> Result<(), String> {
    let ValueKind::Table(entries) = value else {
        return Err(format!(
            "method_strength must be a table ([method_strength] with lines such as email = \"mfa\"), not {}",
            type_name(value)
        ));
    };
    for (method, v) in sorted(entries) {
        check_file_value(&format!("method_strength.{method}"), Kind::Text, &v.kind)?;
    }
    Ok(())
}

fn check_tenant(label: &str, entries: &Map<String, Value>) -> Result<(), String> {
    for (key, value) in sorted(entries) {
        if key == "reports" {
            let ValueKind::Table(reports) = &value.kind else {
                return Err(format!(
                    "{label}: reports must be tables such as [tenant.reports.registration_details], not {}",
                    type_name(&value.kind)
                ));
            };
            for (report, settings) in sorted(reports) {
                if ReportKind::from_name(report).is_none() {
                    return Err(unknown_report(label, report));
                }
                let ValueKind::Table(settings) = &settings.kind else {
                    return Err(format!(
                        "{label}: reports.{report} must be a table ([tenant.reports.{report}]), not {}",
                        type_name(&settings.kind)
                    ));
                };
                for (k, v) in sorted(settings) {
                    let place = format!("{label}: reports.{report}.{k}");
                    let Some(kind) = kind_of(REPORT, k) else {
                        return Err(format!("{label}: unknown key reports.{report}.{k} (known: {})", names(REPORT)));
                    };
                    check_file_value(&place, kind, &v.kind)?;
                }
            }
            continue;
        }
        if key == "group" {
            check_groups(label, value)?;
            continue;
        }
        let Some(kind) = kind_of(TENANT, key) else {
            return Err(format!("{label}: unknown key {key} (known: {}, reports, group)", names(TENANT)));
        };
        check_file_value(&format!("{label}: {key}"), kind, &value.kind)?;
    }
    Ok(())
}

/// `[[tenant.group]]` tables: a list of tables with the keys of [`GROUP`].
fn check_groups(label: &str, value: &Value) -> Result<(), String> {
    let ValueKind::Array(items) = &value.kind else {
        return Err(format!(
            "{label}: group must be written [[tenant.group]] (a list of tables, one per group), not {}",
            type_name(&value.kind)
        ));
    };
    for (index, item) in items.iter().enumerate() {
        let ValueKind::Table(entries) = &item.kind else {
            return Err(format!(
                "{label}: group[{index}] must be a [[tenant.group]] table, not {}",
                type_name(&item.kind)
            ));
        };
        for (k, v) in sorted(entries) {
            let Some(kind) = kind_of(GROUP, k) else {
                return Err(format!("{label}: unknown key group[{index}].{k} (known: {})", names(GROUP)));
            };
            check_file_value(&format!("{label}: group[{index}].{k}"), kind, &v.kind)?;
        }
    }
    Ok(())
}

/// The entries in name order, so that the first problem reported does not depend on hashing.
fn sorted(map: &Map<String, Value>) -> Vec<(&str, &Value)> {
    let mut entries: Vec<(&str, &Value)> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}
