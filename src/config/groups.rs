//! `[[tenant.group]]` and `exclude_groups`: groups counted on their own, and groups whose members
//! leave every count the exporter makes from userRegistrationDetails. Both need the per-user rows of
//! the details source: Microsoft's own summaries cannot be split by group or exclude anyone.

use super::raw::RawGroup;
use super::tenant::is_guid;

/// One `[[tenant.group]]`: the `group` label value and the group's object id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupSettings {
    pub(crate) name: String,
    /// The group's object id (a GUID), as configured.
    pub(crate) id: String,
}

/// The groups and exclusion ids of a tenant, or the keys at fault and one line.
type Checked = Result<(Vec<GroupSettings>, Vec<String>), (Vec<String>, String)>;

/// Checks the groups and exclusions of a tenant. `summary`: the tenant takes its registration
/// numbers from Microsoft's summaries; `details_enabled`: the registration_details report is polled.
/// Errors are the keys at fault (relative to the tenant) and one line.
pub(super) fn validate_groups(
    raw: Vec<RawGroup>,
    exclude: Option<Vec<String>>,
    summary: bool,
    details_enabled: bool,
) -> Checked {
    let mut groups: Vec<GroupSettings> = Vec::with_capacity(raw.len());
    for (i, g) in raw.into_iter().enumerate() {
        let key = |k: &str| format!("group[{i}].{k}");
        let name = match g.name {
            Some(n) if !n.is_empty() => n,
            _ => return Err((vec![key("name")], format!("{} is required", key("name")))),
        };
        if name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return Err((
                vec![key("name")],
                format!(
                    "{} = {name:?} must be 1 to 64 characters of letters, digits, '-', '_' or '.' (it becomes the group label)",
                    key("name")
                ),
            ));
        }
        if let Some(earlier) = groups.iter().position(|e| e.name == name) {
            return Err((
                vec![key("name"), format!("group[{earlier}].name")],
                format!("{} = {name:?} is used by group[{earlier}] too; group names must be unique", key("name")),
            ));
        }
        let id = match g.id {
            Some(id) if !id.is_empty() => id,
            _ => return Err((vec![key("id")], format!("{} is required (the group's object ID)", key("id")))),
        };
        if !is_guid(&id) {
            return Err((vec![key("id")], format!("{} = {id:?} is not a GUID (the group's object ID)", key("id"))));
        }
        groups.push(GroupSettings { name, id });
    }
    let exclude = exclude.unwrap_or_default();
    for (i, id) in exclude.iter().enumerate() {
        if !is_guid(id) {
            return Err((
                vec!["exclude_groups".into()],
                format!("exclude_groups[{i}] = {id:?} is not a GUID (a group's object ID)"),
            ));
        }
        if exclude[..i].iter().any(|e| e.eq_ignore_ascii_case(id)) {
            return Err((vec!["exclude_groups".into()], format!("exclude_groups lists {id:?} twice")));
        }
    }
    if groups.is_empty() && exclude.is_empty() {
        return Ok((groups, exclude));
    }
    let keys = || {
        let mut keys: Vec<String> = (0..groups.len()).map(|i| format!("group[{i}].id")).collect();
        if !exclude.is_empty() {
            keys.push("exclude_groups".into());
        }
        keys
    };
    let what = match (groups.is_empty(), exclude.is_empty()) {
        (false, false) => "[[tenant.group]] and exclude_groups",
        (false, true) => "[[tenant.group]]",
        _ => "exclude_groups",
    };
    if summary {
        let mut k = keys();
        k.push("registration_source".into());
        return Err((
            k,
            format!(
                "{what} need registration_source = \"details\": Microsoft's summaries (registration_source = \"summary\") have no per-user rows to split by group or exclude"
            ),
        ));
    }
    if !details_enabled {
        let mut k = keys();
        k.push("reports.registration_details.enabled".into());
        return Err((
            k,
            format!("{what} need the registration_details report, but reports.registration_details.enabled = false"),
        ));
    }
    Ok((groups, exclude))
}
