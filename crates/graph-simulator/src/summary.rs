//! `usersRegisteredByFeature` and `usersRegisteredByMethod` (Microsoft Graph, "authenticationMethodsRoot:
//! usersRegisteredByFeature"
//! (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersregisteredbyfeature>); Microsoft Graph,
//! "authenticationMethodsRoot: usersRegisteredByMethod"
//! (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersregisteredbymethod>)). Graph computes them from
//! the same data as userRegistrationDetails; the simulator does literally that, so the summaries agree with the
//! listing: `totalUserCount` = listed users matching the type/role filter, feature counts = users with the flag, method
//! counts = users listing the method. Graph serves them to delegated callers only; app-only tokens are refused before
//! this runs.

use super::catalog::KNOWN_METHODS;
use super::odata_filter::eq_ci;
use super::population::{Population, SimUser};
use super::rows::{ApiVersion, json_str};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SummaryKind {
    Feature,
    Method,
}

impl SummaryKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            SummaryKind::Feature => "usersRegisteredByFeature",
            SummaryKind::Method => "usersRegisteredByMethod",
        }
    }
}

/// `includedUserTypes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserTypes {
    All,
    Member,
    Guest,
}

/// `includedUserRoles`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserRoles {
    All,
    PrivilegedAdmin,
    Admin,
    User,
}

impl UserTypes {
    fn as_str(self) -> &'static str {
        match self {
            UserTypes::All => "all",
            UserTypes::Member => "member",
            UserTypes::Guest => "guest",
        }
    }
}

impl UserRoles {
    fn as_str(self) -> &'static str {
        match self {
            UserRoles::All => "all",
            UserRoles::PrivilegedAdmin => "privilegedAdmin",
            UserRoles::Admin => "admin",
            UserRoles::User => "user",
        }
    }
}

/// A parsed function call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SummaryCall {
    pub(crate) kind: SummaryKind,
    pub(crate) types: UserTypes,
    pub(crate) roles: UserRoles,
}

/// Recognise a function segment: `usersRegisteredByFeature`, `…()`, `…(includedUserTypes='all',
/// includedUserRoles='all')`, optionally `microsoft.graph.`-qualified (older SDKs), names
/// case-insensitive. `None` if the segment is not one of the two functions; `Some(Err(message))`
/// for bad parameters. Missing parameters default to `all` (the service default is undocumented).
pub(crate) fn parse_segment(segment: &str) -> Option<Result<SummaryCall, String>> {
    let s = segment.trim();
    let s = match s.get(..16) {
        Some(p) if p.eq_ignore_ascii_case("microsoft.graph.") => &s[16..],
        _ => s,
    };
    let (name, args) = match s.find('(') {
        Some(i) => (&s[..i], Some(&s[i..])),
        None => (s, None),
    };
    let kind = if name.eq_ignore_ascii_case("usersRegisteredByFeature") {
        SummaryKind::Feature
    } else if name.eq_ignore_ascii_case("usersRegisteredByMethod") {
        SummaryKind::Method
    } else {
        return None;
    };
    let mut call = SummaryCall { kind, types: UserTypes::All, roles: UserRoles::All };
    let Some(args) = args else {
        return Some(Ok(call));
    };
    let Some(inner) = args.strip_prefix('(').and_then(|a| a.strip_suffix(')')) else {
        return Some(Err(format!("Bad Request - Error in query syntax: '{segment}'.")));
    };
    let mut seen_types = false;
    let mut seen_roles = false;
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            return Some(Err(format!("Bad Request - Error in query syntax: '{part}'.")));
        };
        let (key, value) = (key.trim(), unquote(value.trim()));
        let Some(value) = value else {
            return Some(Err(format!("The parameter '{key}' must be a quoted enumeration value.")));
        };
        if key.eq_ignore_ascii_case("includedUserTypes") && !seen_types {
            seen_types = true;
            call.types = match value.to_ascii_lowercase().as_str() {
                "all" => UserTypes::All,
                "member" => UserTypes::Member,
                "guest" => UserTypes::Guest,
                _ => return Some(Err(invalid_enum(value, "includedUserTypes"))),
            };
        } else if key.eq_ignore_ascii_case("includedUserRoles") && !seen_roles {
            seen_roles = true;
            call.roles = match value.to_ascii_lowercase().as_str() {
                "all" => UserRoles::All,
                "privilegedadmin" => UserRoles::PrivilegedAdmin,
                "admin" => UserRoles::Admin,
                "user" => UserRoles::User,
                _ => return Some(Err(invalid_enum(value, "includedUserRoles"))),
            };
        } else {
            return Some(Err(format!("The parameter '{key}' is not allowed for function '{}'.", kind.name())));
        }
    }
    Some(Ok(call))
}

fn invalid_enum(value: &str, ty: &str) -> String {
    format!("The string '{value}' is not a valid enumeration type constant of 'microsoft.graph.{ty}'.")
}

/// `'all'` or `microsoft.graph.includedUserTypes'all'` → `all`.
fn unquote(v: &str) -> Option<&str> {
    let start = v.find('\'')?;
    let rest = &v[start + 1..];
    let end = rest.rfind('\'')?;
    Some(&rest[..end])
}

/// Whether a listed user falls under the type and role filters. `admin` = `isAdmin` true,
/// `user` = everyone else (including `isAdmin: null`), `privilegedAdmin` = holds a role from
/// `PRIVILEGED_ROLES`; types compare `userType`, so `null`/`unknownFutureValue` users count only
/// under `all`.
pub(crate) fn in_scope(u: &SimUser, types: UserTypes, roles: UserRoles) -> bool {
    let type_ok = match types {
        UserTypes::All => true,
        UserTypes::Member => u.user_type.as_deref().is_some_and(|t| eq_ci(t, "member")),
        UserTypes::Guest => u.user_type.as_deref().is_some_and(|t| eq_ci(t, "guest")),
    };
    let role_ok = match roles {
        UserRoles::All => true,
        UserRoles::Admin => u.is_admin == Some(true),
        UserRoles::User => u.is_admin != Some(true),
        UserRoles::PrivilegedAdmin => !u.privileged_roles.is_empty(),
    };
    type_ok && role_ok
}

/// The JSON answer for `call` over `pop`.
pub(crate) fn body(pop: &Population, call: SummaryCall, base: &str, version: ApiVersion) -> Vec<u8> {
    let users = || pop.listed().filter(|u| in_scope(u, call.types, call.roles));
    let total = users().count();
    let (type_name, counts) = match call.kind {
        SummaryKind::Feature => {
            let count = |f: fn(&SimUser) -> bool| users().filter(|u| f(u)).count();
            let features = [
                ("ssprRegistered", count(|u| u.is_sspr_registered)),
                ("ssprEnabled", count(|u| u.is_sspr_enabled)),
                ("ssprCapable", count(|u| u.is_sspr_capable)),
                ("passwordlessCapable", count(|u| u.is_passwordless_capable)),
                ("mfaCapable", count(|u| u.is_mfa_capable)),
            ];
            let mut items: Vec<String> =
                features.iter().map(|(f, n)| format!(r#"{{"feature":"{f}","userCount":{n}}}"#)).collect();
            for (j, f) in pop.invented_features.iter().enumerate() {
                let n = users().filter(|u| Population::invented_feature_has(j, u)).count();
                items.push(format!(r#"{{"feature":{},"userCount":{n}}}"#, json_str(f)));
            }
            ("userRegistrationFeatureSummary", format!(r#""userRegistrationFeatureCounts":[{}]"#, items.join(",")))
        }
        SummaryKind::Method => {
            let mut known = [0usize; KNOWN_METHODS.len()];
            let mut other: std::collections::BTreeMap<&str, usize> = Default::default();
            for u in users() {
                for m in &u.methods_registered {
                    match KNOWN_METHODS.iter().position(|k| k == m) {
                        Some(i) => known[i] += 1,
                        None => *other.entry(m.as_str()).or_default() += 1,
                    }
                }
            }
            let items: Vec<String> = KNOWN_METHODS
                .iter()
                .zip(known)
                .map(|(m, n)| (*m, n))
                .chain(other)
                .map(|(m, n)| format!(r#"{{"authenticationMethod":{},"userCount":{n}}}"#, json_str(m)))
                .collect();
            ("userRegistrationMethodSummary", format!(r#""userRegistrationMethodCounts":[{}]"#, items.join(",")))
        }
    };
    format!(
        r##"{{"@odata.context":"{base}/{v}/$metadata#microsoft.graph.{type_name}","@odata.type":"#microsoft.graph.{type_name}","totalUserCount":{total},"userTypes":"{t}","userRoles":"{r}",{counts}}}"##,
        v = version.as_str(),
        t = call.types.as_str(),
        r = call.roles.as_str(),
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_forms() {
        let all = |kind| SummaryCall { kind, types: UserTypes::All, roles: UserRoles::All };
        assert_eq!(parse_segment("usersRegisteredByFeature"), Some(Ok(all(SummaryKind::Feature))));
        assert_eq!(parse_segment("usersRegisteredByFeature()"), Some(Ok(all(SummaryKind::Feature))));
        assert_eq!(
            parse_segment("microsoft.graph.usersRegisteredByMethod(includedUserTypes='all',includedUserRoles='all')"),
            Some(Ok(all(SummaryKind::Method)))
        );
        assert_eq!(
            parse_segment(
                "usersregisteredbyfeature(includedUserRoles='privilegedAdmin', includedUserTypes=microsoft.graph.includedUserTypes'guest')"
            ),
            Some(Ok(SummaryCall {
                kind: SummaryKind::Feature,
                types: UserTypes::Guest,
                roles: UserRoles::PrivilegedAdmin
            }))
        );
        assert_eq!(parse_segment("userRegistrationDetails"), None);
        assert!(matches!(parse_segment("usersRegisteredByFeature(includedUserTypes='x')"), Some(Err(_))));
        assert!(matches!(parse_segment("usersRegisteredByFeature(includedUserTypes=all)"), Some(Err(_))));
        assert!(matches!(parse_segment("usersRegisteredByFeature(foo='all')"), Some(Err(_))));
        assert!(matches!(parse_segment("usersRegisteredByFeature("), Some(Err(_))));
        assert!(matches!(
            parse_segment("usersRegisteredByFeature(includedUserTypes='all',includedUserTypes='guest')"),
            Some(Err(_))
        ));
        assert!(matches!(parse_segment("usersRegisteredByFeature(includedUserTypes='é"), Some(Err(_))));
    }

    #[test]
    fn summaries_agree_with_the_listing() {
        let pop = Population::generate(5_000, 11);
        for (types, roles) in [
            (UserTypes::All, UserRoles::All),
            (UserTypes::Member, UserRoles::Admin),
            (UserTypes::Guest, UserRoles::User),
            (UserTypes::All, UserRoles::PrivilegedAdmin),
        ] {
            let call = SummaryCall { kind: SummaryKind::Feature, types, roles };
            let v: serde_json::Value = serde_json::from_slice(&body(&pop, call, "http://x", ApiVersion::V1)).unwrap();
            let scope: Vec<&SimUser> = pop.listed().filter(|u| in_scope(u, types, roles)).collect();
            assert_eq!(v["totalUserCount"], scope.len());
            let mfa = v["userRegistrationFeatureCounts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["feature"] == "mfaCapable")
                .unwrap()["userCount"]
                .as_u64()
                .unwrap();
            assert_eq!(mfa as usize, scope.iter().filter(|u| u.is_mfa_capable).count());

            let call = SummaryCall { kind: SummaryKind::Method, types, roles };
            let v: serde_json::Value = serde_json::from_slice(&body(&pop, call, "http://x", ApiVersion::Beta)).unwrap();
            for c in v["userRegistrationMethodCounts"].as_array().unwrap() {
                let m = c["authenticationMethod"].as_str().unwrap();
                let want = scope.iter().filter(|u| u.methods_registered.iter().any(|x| x == m)).count();
                assert_eq!(c["userCount"].as_u64().unwrap() as usize, want, "{m}");
            }
            assert_eq!(v["@odata.type"], "#microsoft.graph.userRegistrationMethodSummary");
        }
        let total_all = pop.listed().count();
        let admins = pop.listed().filter(|u| in_scope(u, UserTypes::All, UserRoles::Admin)).count();
        let users = pop.listed().filter(|u| in_scope(u, UserTypes::All, UserRoles::User)).count();
        assert_eq!(admins + users, total_all);
    }
}
