//! One `[[tenant]]` table: its name and identifiers, endpoints, poll interval and breakdowns; its
//! credentials are checked in credential.rs and its reports in report_settings.rs.

use super::cloud::{Cloud, parse_endpoint};
use super::credential::{
    AppCredential, AzureEnv, keyed_credentials, managed_identity_settings, validate_credential_kind,
};
use super::groups::validate_groups;
use super::loading::Invalid;
use super::raw::RawTenant;
use super::report_settings::validate_reports;
use super::{AutoChoice, Breakdown, ConfigWarning, RegistrationSource, TenantSettings, UserRole, UserType, schema};
use super::{DEFAULT_POLL_INTERVAL, MAX_POLL_INTERVAL, MIN_POLL_INTERVAL};
use crate::catalog::CredentialKind;

pub(super) fn validate_tenant(
    index: usize,
    mut t: RawTenant,
    azure: &AzureEnv,
    warnings: &mut Vec<ConfigWarning>,
    auto_choices: &mut Vec<AutoChoice>,
) -> Result<TenantSettings, Invalid> {
    let label = schema::tenant_label(index, t.name.as_deref());
    // `keys`: the tenant's keys the message is about; none means the tenant as a whole.
    let err = |keys: &[&str], msg: String| {
        let keys: Vec<String> = if keys.is_empty() {
            vec![format!("tenant[{index}]")]
        } else {
            keys.iter().map(|k| format!("tenant[{index}].{k}")).collect()
        };
        Invalid { message: format!("{label}: {msg}"), keys }
    };
    let at = |key: &'static str| move |msg: String| err(&[key], msg);
    let required = |key: &str, v: Option<String>| -> Result<String, Invalid> {
        match v {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(err(&[key], format!("{key} is required"))),
        }
    };

    let name = required("name", t.name.clone())?;
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) || name.len() > 64 {
        return Err(err(
            &["name"],
            format!(
                "name = {name:?} must be 1 to 64 characters of letters, digits, '-', '_' or '.' (it becomes the tenant label)"
            ),
        ));
    }
    let choice = validate_credential_kind(&mut t, azure).map_err(|(keys, msg)| err(&keys, msg))?;
    let tenant_id = required("tenant_id", t.tenant_id.take())?;
    if !is_tenant_id(&tenant_id) {
        return Err(err(
            &["tenant_id"],
            format!("tenant_id = {tenant_id:?} is neither a GUID nor a domain name such as contoso.onmicrosoft.com"),
        ));
    }
    let client_id = if choice.managed {
        // Optional: it names a user-assigned identity; without it the host's system-assigned one is used.
        match t.client_id.take().filter(|c| !c.trim().is_empty()) {
            Some(c) if !is_guid(&c) => {
                return Err(err(
                    &["client_id"],
                    format!(
                        "client_id = {c:?} is not a GUID (with a managed identity it is the client ID of the user-assigned identity)"
                    ),
                ));
            }
            other => other.unwrap_or_default(),
        }
    } else {
        let client_id = required("client_id", t.client_id.take())?;
        if !is_guid(&client_id) {
            return Err(err(
                &["client_id"],
                format!(
                    "client_id = {client_id:?} is not a GUID (the application (client) ID of the app registration)"
                ),
            ));
        }
        client_id
    };
    let keyed = keyed_credentials(&mut t, choice.workload.is_some(), choice.managed, &client_id, &err)?;
    let registration_source = match t.registration_source.as_deref() {
        None | Some("details") => RegistrationSource::Details,
        Some("summary") => RegistrationSource::Summary,
        Some(other) => {
            return Err(err(
                &["registration_source"],
                format!("registration_source = {other:?} is not one of \"details\", \"summary\""),
            ));
        }
    };
    let cloud = match t.cloud.as_deref() {
        None => Cloud::default(),
        Some(c) => Cloud::parse(c).map_err(at("cloud"))?,
    };
    let graph_endpoint =
        parse_endpoint("graph_endpoint", t.graph_endpoint.as_deref().unwrap_or(cloud.graph_endpoint()))
            .map_err(|e| err(&["graph_endpoint"], e.to_string()))?;
    let login_endpoint =
        parse_endpoint("login_endpoint", t.login_endpoint.as_deref().unwrap_or(cloud.login_endpoint()))
            .map_err(|e| err(&["login_endpoint"], e.to_string()))?;
    let managed_identity = if choice.managed {
        let user_assigned = Some(client_id.clone()).filter(|c| !c.is_empty());
        let mi = managed_identity_settings(
            t.managed_identity_endpoint,
            t.managed_identity_header,
            user_assigned,
            cloud,
            azure,
        )
        .map_err(|m| err(&["managed_identity_endpoint", "managed_identity_header"], m))?;
        Some(mi)
    } else {
        None
    };
    if let Some(reason) = choice.auto_reason {
        auto_choices.push(AutoChoice { tenant: name.clone(), reason });
    }
    // At most one is set: validate_credential_kind refuses every combination of kinds.
    let app_credential = (managed_identity.map(AppCredential::ManagedIdentity))
        .or(choice.workload.map(AppCredential::WorkloadIdentity))
        .or(keyed.certificate.map(AppCredential::Certificate))
        .or(keyed.secret.map(AppCredential::Secret));
    let poll_interval = t.poll_interval.unwrap_or(DEFAULT_POLL_INTERVAL);
    if poll_interval < MIN_POLL_INTERVAL {
        return Err(err(
            &["poll_interval"],
            format!(
                "poll_interval = {:?} is below the minimum of 1m",
                humantime::format_duration(poll_interval).to_string()
            ),
        ));
    }
    if poll_interval > MAX_POLL_INTERVAL {
        return Err(err(
            &["poll_interval"],
            format!(
                "poll_interval = {:?} is above the maximum of 30days",
                humantime::format_duration(poll_interval).to_string()
            ),
        ));
    }
    let user_types = parse_list("user_types", t.user_types, &UserType::ALL, &UserType::ALL, UserType::as_str)
        .map_err(at("user_types"))?;
    let user_roles = parse_list("user_roles", t.user_roles, &UserRole::ALL, &UserRole::DEFAULT, UserRole::as_str)
        .map_err(at("user_roles"))?;
    // Not an error, since it may be deliberate; but the shipped dashboards and alerts select
    // user_type="all" and user_role="all", and would show nothing for this tenant.
    for (key, label_name, has_all) in [
        ("user_types", "user_type", user_types.contains(&UserType::All)),
        ("user_roles", "user_role", user_roles.contains(&UserRole::All)),
    ] {
        if !has_all {
            warnings.push(ConfigWarning {
                tenant: name.clone(),
                key,
                message: format!(
                    "{label}: {key} does not list \"all\": the shipped dashboards and alerts select {label_name}=\"all\" and will show nothing for this tenant; add \"all\" unless that is intended"
                ),
            });
        }
    }
    let breakdowns = user_types
        .iter()
        .flat_map(|&user_type| user_roles.iter().map(move |&user_role| Breakdown { user_type, user_role }))
        .collect();
    let delegated = keyed.delegated;
    let has = |kind: CredentialKind| match kind {
        CredentialKind::App => app_credential.is_some(),
        CredentialKind::Delegated => delegated.is_some(),
    };
    let reports = validate_reports(t.reports, poll_interval, registration_source, &has).map_err(|(keys, msg)| {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        err(&keys, msg)
    })?;
    let details_enabled = reports.contains_key(&crate::catalog::ReportKind::RegistrationDetails);
    let (groups, exclude_groups) = validate_groups(
        std::mem::take(&mut t.groups),
        t.exclude_groups.take(),
        registration_source == RegistrationSource::Summary,
        details_enabled,
    )
    .map_err(|(keys, msg)| {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        err(&keys, msg)
    })?;

    Ok(TenantSettings {
        name,
        tenant_id,
        client_id,
        app_credential,
        delegated,
        cloud,
        graph_endpoint,
        login_endpoint,
        poll_interval,
        breakdowns,
        registration_source,
        reports,
        // Set by the caller from the top-level table.
        method_strength: Default::default(),
        groups,
        exclude_groups,
    })
}

fn parse_list<T: Copy + PartialEq>(
    key: &str,
    values: Option<Vec<String>>,
    allowed: &[T],
    default: &[T],
    name: fn(T) -> &'static str,
) -> Result<Vec<T>, String> {
    let Some(values) = values else {
        return Ok(default.to_vec());
    };
    if values.is_empty() {
        return Err(format!("{key} is empty; list at least one of {}", names(allowed, name)));
    }
    let mut out = Vec::new();
    for v in values {
        let Some(&item) = allowed.iter().find(|&&a| name(a) == v) else {
            return Err(format!("{key} contains {v:?}; allowed values are {}", names(allowed, name)));
        };
        if out.contains(&item) {
            return Err(format!("{key} lists {v:?} twice"));
        }
        out.push(item);
    }
    Ok(out)
}

fn names<T: Copy>(allowed: &[T], name: fn(T) -> &'static str) -> String {
    allowed.iter().map(|&a| format!("{:?}", name(a))).collect::<Vec<_>>().join(", ")
}

pub(crate) fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_tenant_id(s: &str) -> bool {
    is_guid(s)
        || (s.contains('.')
            && s.split('.')
                .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')))
}
