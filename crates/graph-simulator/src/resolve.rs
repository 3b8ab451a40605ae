//! Which Graph route a path names. Graph paths contain OData function calls
//! (`usersRegisteredByFeature(includedUserTypes='all',…)`, `getCredentialUsageSummary(period='D30')`),
//! names are case-insensitive, functions may be `microsoft.graph.`-qualified (older SDKs), and beta-only
//! segments under `/v1.0` are unknown segments (400 naming the segment, as Graph answers for names its metadata lacks;
//! Microsoft Graph, "Microsoft Graph error responses and resource types" (<https://learn.microsoft.com/graph/errors>)).

use super::RetirableReport;
use super::rows::ApiVersion;
use super::summary::{self, SummaryCall};

/// `d1`/`d7`/`d30` of the activity reports (the legacy `D1`/`D7`/`D30` map here too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Period {
    D1,
    D7,
    D30,
}

impl Period {
    pub(crate) fn days(self) -> i64 {
        match self {
            Period::D1 => 1,
            Period::D7 => 7,
            Period::D30 => 30,
        }
    }
}

/// How a directory role is addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RoleRef {
    /// `/directoryRoles/{id}`: the activated role's object id.
    Id(String),
    /// `/directoryRoles(roleTemplateId='…')`: the alternate key.
    Template(String),
}

/// Graph routes the simulator serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GraphRoute {
    List,
    Get(String),
    Summary(SummaryCall),
    CredentialUserRegistrationCount,
    CredentialUsageSummary(Period),
    CredentialUserRegistrationDetails,
    UserCredentialUsageDetails,
    UserRegistrationActivity(Period),
    UserSignInsByAuthMethodSummary(Period),
    UserEventsSummary,
    UserMfaSignInSummary,
    UserPasswordResetsAndChangesSummary,
    DirectoryRoles,
    DirectoryRole(RoleRef),
    DirectoryRoleMembers(RoleRef),
    /// `groups/{id}/transitiveMembers`, or its cast `/microsoft.graph.user` (`users_only`).
    GroupTransitiveMembers {
        id: String,
        users_only: bool,
    },
}

impl GraphRoute {
    /// The name used in `SimStats::graph_requests` keys and in unknown-segment errors.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            GraphRoute::List => "userRegistrationDetails",
            GraphRoute::Get(_) => "userRegistrationDetails/{id}",
            GraphRoute::Summary(c) => c.kind.name(),
            GraphRoute::CredentialUserRegistrationCount => "getCredentialUserRegistrationCount",
            GraphRoute::CredentialUsageSummary(_) => "getCredentialUsageSummary",
            GraphRoute::CredentialUserRegistrationDetails => "credentialUserRegistrationDetails",
            GraphRoute::UserCredentialUsageDetails => "userCredentialUsageDetails",
            GraphRoute::UserRegistrationActivity(_) => "userRegistrationActivity",
            GraphRoute::UserSignInsByAuthMethodSummary(_) => "userSignInsByAuthMethodSummary",
            GraphRoute::UserEventsSummary => "userEventsSummary",
            GraphRoute::UserMfaSignInSummary => "userMfaSignInSummary",
            GraphRoute::UserPasswordResetsAndChangesSummary => "userPasswordResetsAndChangesSummary",
            GraphRoute::DirectoryRoles => "directoryRoles",
            GraphRoute::DirectoryRole(_) => "directoryRoles/{id}",
            GraphRoute::DirectoryRoleMembers(_) => "directoryRoles/{id}/members",
            GraphRoute::GroupTransitiveMembers { users_only: false, .. } => "groups/{id}/transitiveMembers",
            GraphRoute::GroupTransitiveMembers { users_only: true, .. } => {
                "groups/{id}/transitiveMembers/microsoft.graph.user"
            }
        }
    }

    pub(crate) fn stats_key(&self, v: ApiVersion) -> String {
        format!("{}/{}", v.as_str(), self.name())
    }

    /// The retirement switch that governs this route, if any.
    pub(crate) fn retirable(&self) -> Option<RetirableReport> {
        Some(match self {
            GraphRoute::CredentialUserRegistrationCount => RetirableReport::CredentialUserRegistrationCount,
            GraphRoute::CredentialUsageSummary(_) => RetirableReport::CredentialUsageSummary,
            GraphRoute::CredentialUserRegistrationDetails => RetirableReport::CredentialUserRegistrationDetails,
            GraphRoute::UserCredentialUsageDetails => RetirableReport::UserCredentialUsageDetails,
            GraphRoute::UserRegistrationActivity(_) => RetirableReport::UserRegistrationActivity,
            GraphRoute::UserSignInsByAuthMethodSummary(_) => RetirableReport::UserSignInsByAuthMethodSummary,
            GraphRoute::UserEventsSummary => RetirableReport::UserEventsSummary,
            GraphRoute::UserMfaSignInSummary => RetirableReport::UserMfaSignInSummary,
            GraphRoute::UserPasswordResetsAndChangesSummary => RetirableReport::UserPasswordResetsAndChangesSummary,
            _ => return None,
        })
    }
}

pub(crate) enum RouteError {
    /// A segment Graph would not know (400 "Resource not found for the segment").
    Segment(String),
    /// Bad function parameters (400 with this message).
    Function(String),
}

/// `microsoft.graph.name(args)` → (`name`, `Some("(args)")`); the prefix is optional.
fn split_call(segment: &str) -> (&str, Option<&str>) {
    let s = segment.trim();
    let s = match s.get(..16) {
        Some(p) if p.eq_ignore_ascii_case("microsoft.graph.") => &s[16..],
        _ => s,
    };
    match s.find('(') {
        Some(i) => (&s[..i], Some(&s[i..])),
        None => (s, None),
    }
}

/// The single `key='value'` (or `key=type'value'`) argument of a one-parameter function;
/// `Ok(None)` for `()` or no parentheses.
fn single_arg<'a>(args: Option<&'a str>, key: &str, function: &str) -> Result<Option<&'a str>, String> {
    let Some(args) = args else { return Ok(None) };
    let Some(inner) = args.strip_prefix('(').and_then(|a| a.strip_suffix(')')) else {
        return Err(format!("Bad Request - Error in query syntax: '{function}{args}'."));
    };
    let inner = inner.trim();
    if inner.is_empty() {
        return Ok(None);
    }
    let Some((k, v)) = inner.split_once('=') else {
        return Err(format!("Bad Request - Error in query syntax: '{inner}'."));
    };
    if !k.trim().eq_ignore_ascii_case(key) {
        return Err(format!("The parameter '{}' is not allowed for function '{function}'.", k.trim()));
    }
    let v = v.trim();
    let (start, end) = (v.find('\''), v.rfind('\''));
    match (start, end) {
        (Some(s), Some(e)) if e > s && e == v.len() - 1 => Ok(Some(&v[s + 1..e])),
        _ => Err(format!("The parameter '{key}' must be a quoted value.")),
    }
}

/// `period` of `userRegistrationActivity`/`userSignInsByAuthMethodSummary` (`aggregationPeriod`).
fn aggregation_period(args: Option<&str>, function: &str) -> Result<Period, String> {
    match single_arg(args, "period", function)?.map(str::to_ascii_lowercase).as_deref() {
        Some("d1") => Ok(Period::D1),
        Some("d7") => Ok(Period::D7),
        Some("d30") => Ok(Period::D30),
        Some(other) => Err(format!(
            "The string '{other}' is not a valid enumeration type constant of 'microsoft.graph.aggregationPeriod'."
        )),
        None => Err(format!("The function '{function}' requires the parameter 'period'.")),
    }
}

/// `period` of the legacy `getCredentialUsageSummary` (an `Edm.String`: `D1`, `D7`, `D30`, any case).
fn legacy_period(args: Option<&str>) -> Result<Period, String> {
    match single_arg(args, "period", "getCredentialUsageSummary")?.map(str::to_ascii_uppercase).as_deref() {
        Some("D1") => Ok(Period::D1),
        Some("D7") => Ok(Period::D7),
        Some("D30") => Ok(Period::D30),
        Some(other) => Err(format!("Invalid period '{other}'. Supported values are D1, D7 and D30.")),
        None => Err("The function 'getCredentialUsageSummary' requires the parameter 'period'.".into()),
    }
}

/// Resolve the decoded segments after the version.
pub(crate) fn resolve(segs: &[String], version: ApiVersion) -> Result<GraphRoute, RouteError> {
    let is = |i: usize, name: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(name));
    // Past the end (`/v1.0/reports`), name the last segment, the one that leads nowhere.
    let unknown = |i: usize| RouteError::Segment(segs.get(i).or(segs.last()).cloned().unwrap_or_default());
    let beta = version == ApiVersion::Beta;
    let first = segs.first().map(String::as_str).unwrap_or("");
    if is(0, "directoryRoles") || split_call(first).0.eq_ignore_ascii_case("directoryRoles") {
        return directory(segs);
    }
    if is(0, "groups") {
        return match segs {
            [_, id, m] if !id.is_empty() && m.eq_ignore_ascii_case("transitiveMembers") => {
                Ok(GraphRoute::GroupTransitiveMembers { id: id.clone(), users_only: false })
            }
            [_, id, m, cast]
                if !id.is_empty()
                    && m.eq_ignore_ascii_case("transitiveMembers")
                    && cast.eq_ignore_ascii_case("microsoft.graph.user") =>
            {
                Ok(GraphRoute::GroupTransitiveMembers { id: id.clone(), users_only: true })
            }
            _ => Err(unknown(segs.len().min(3))),
        };
    }
    if !is(0, "reports") {
        return Err(unknown(0));
    }
    let Some(second) = segs.get(1) else { return Err(unknown(1)) };
    if !second.eq_ignore_ascii_case("authenticationMethods") {
        // reportRoot members: the legacy beta reports.
        let (name, args) = split_call(second);
        let route = match name.to_ascii_lowercase().as_str() {
            "getcredentialuserregistrationcount" => {
                single_arg(args, "", name).map_err(RouteError::Function)?;
                GraphRoute::CredentialUserRegistrationCount
            }
            "getcredentialusagesummary" => {
                GraphRoute::CredentialUsageSummary(legacy_period(args).map_err(RouteError::Function)?)
            }
            "credentialuserregistrationdetails" if args.is_none() => GraphRoute::CredentialUserRegistrationDetails,
            "usercredentialusagedetails" if args.is_none() => GraphRoute::UserCredentialUsageDetails,
            _ => return Err(unknown(1)),
        };
        if !beta {
            return Err(RouteError::Segment(name.to_owned()));
        }
        return if segs.len() == 2 { Ok(route) } else { Err(unknown(2)) };
    }
    if is(2, "userRegistrationDetails") {
        return match segs.len() {
            3 => Ok(GraphRoute::List),
            4 if !segs[3].is_empty() => Ok(GraphRoute::Get(segs[3].clone())),
            _ => Err(unknown(4.min(segs.len() - 1))),
        };
    }
    let Some(third) = segs.get(2) else { return Err(unknown(2)) };
    let route = match summary::parse_segment(third) {
        Some(Ok(call)) => GraphRoute::Summary(call),
        Some(Err(m)) => return Err(RouteError::Function(m)),
        None => {
            let (name, args) = split_call(third);
            let route = match name.to_ascii_lowercase().as_str() {
                "userregistrationactivity" => GraphRoute::UserRegistrationActivity(
                    aggregation_period(args, "userRegistrationActivity").map_err(RouteError::Function)?,
                ),
                "usersigninsbyauthmethodsummary" => GraphRoute::UserSignInsByAuthMethodSummary(
                    aggregation_period(args, "userSignInsByAuthMethodSummary").map_err(RouteError::Function)?,
                ),
                "usereventssummary" if args.is_none() => GraphRoute::UserEventsSummary,
                "usermfasigninsummary" if args.is_none() => GraphRoute::UserMfaSignInSummary,
                "userpasswordresetsandchangessummary" if args.is_none() => {
                    GraphRoute::UserPasswordResetsAndChangesSummary
                }
                _ => return Err(unknown(2)),
            };
            if !beta {
                // Graph names the unknown identifier, without the call's arguments.
                return Err(RouteError::Segment(name.to_owned()));
            }
            route
        }
    };
    if segs.len() == 3 { Ok(route) } else { Err(unknown(3)) }
}

/// `directoryRoles`, `directoryRoles/{id}[/members]`, `directoryRoles(roleTemplateId='…')[/members]`.
fn directory(segs: &[String]) -> Result<GraphRoute, RouteError> {
    let unknown = |i: usize| RouteError::Segment(segs.get(i).or(segs.last()).cloned().unwrap_or_default());
    let (name, args) = split_call(&segs[0]);
    let (role, rest) = match args {
        Some(args) => {
            let Some(template) = single_arg(Some(args), "roleTemplateId", name).map_err(RouteError::Function)? else {
                return Err(unknown(0));
            };
            (Some(RoleRef::Template(template.to_owned())), &segs[1..])
        }
        None => match segs.get(1).filter(|s| !s.is_empty()) {
            Some(id) => (Some(RoleRef::Id(id.clone())), &segs[2..]),
            None if segs.len() == 1 => return Ok(GraphRoute::DirectoryRoles),
            None => return Err(unknown(1)),
        },
    };
    let Some(role) = role else { return Err(unknown(0)) };
    let offset = segs.len() - rest.len();
    match rest {
        [] => Ok(GraphRoute::DirectoryRole(role)),
        [m] if m.eq_ignore_ascii_case("members") => Ok(GraphRoute::DirectoryRoleMembers(role)),
        _ => Err(unknown(offset)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(path: &str, v: ApiVersion) -> Result<GraphRoute, String> {
        let segs: Vec<String> = path.split('/').map(str::to_owned).collect();
        resolve(&segs, v).map_err(|e| match e {
            RouteError::Segment(s) => format!("segment {s}"),
            RouteError::Function(m) => format!("function {m}"),
        })
    }

    #[test]
    fn beta_routes() {
        use GraphRoute::*;
        let b = ApiVersion::Beta;
        assert_eq!(r("reports/getCredentialUserRegistrationCount", b), Ok(CredentialUserRegistrationCount));
        assert_eq!(
            r("reports/microsoft.graph.getCredentialUserRegistrationCount()", b),
            Ok(CredentialUserRegistrationCount)
        );
        assert_eq!(r("reports/getCredentialUsageSummary(period='d7')", b), Ok(CredentialUsageSummary(Period::D7)));
        assert!(r("reports/getCredentialUsageSummary(period='D2')", b).unwrap_err().starts_with("function"));
        assert!(r("reports/getCredentialUsageSummary", b).unwrap_err().starts_with("function"));
        assert_eq!(r("reports/credentialUserRegistrationDetails", b), Ok(CredentialUserRegistrationDetails));
        assert_eq!(r("reports/UserCredentialUsageDetails", b), Ok(UserCredentialUsageDetails));
        assert_eq!(
            r("reports/authenticationMethods/userRegistrationActivity(period='D30')", b),
            Ok(UserRegistrationActivity(Period::D30))
        );
        assert_eq!(
            r(
                "reports/authenticationMethods/userSignInsByAuthMethodSummary(period=microsoft.graph.aggregationPeriod'd1')",
                b
            ),
            Ok(UserSignInsByAuthMethodSummary(Period::D1))
        );
        assert!(r("reports/authenticationMethods/userRegistrationActivity(period='d2')", b).is_err());
        assert!(r("reports/authenticationMethods/userRegistrationActivity()", b).is_err());
        assert_eq!(r("reports/authenticationMethods/userEventsSummary", b), Ok(UserEventsSummary));
        assert_eq!(r("reports/authenticationMethods/userMfaSignInSummary", b), Ok(UserMfaSignInSummary));
        assert_eq!(
            r("reports/authenticationMethods/userPasswordResetsAndChangesSummary", b),
            Ok(UserPasswordResetsAndChangesSummary)
        );
        assert!(r("reports/authenticationMethods/userEventsSummary/x", b).is_err());
        assert!(r("reports/credentialUserRegistrationDetails/x", b).is_err());
    }

    #[test]
    fn beta_only_under_v1() {
        let v = ApiVersion::V1;
        assert_eq!(
            r("reports/getCredentialUserRegistrationCount", v),
            Err("segment getCredentialUserRegistrationCount".into())
        );
        assert_eq!(r("reports/authenticationMethods/userEventsSummary", v), Err("segment userEventsSummary".into()));
        assert_eq!(
            r("reports/authenticationMethods/userRegistrationActivity(period='d1')", v),
            Err("segment userRegistrationActivity".into())
        );
        assert!(r("reports/authenticationMethods/usersRegisteredByFeature()", v).is_ok());
    }

    #[test]
    fn directory_routes() {
        use GraphRoute::*;
        let v = ApiVersion::V1;
        assert_eq!(r("directoryRoles", v), Ok(DirectoryRoles));
        assert_eq!(
            r("groups/g1/transitiveMembers", v),
            Ok(GroupTransitiveMembers { id: "g1".into(), users_only: false })
        );
        assert_eq!(
            r("groups/g1/transitiveMembers/microsoft.graph.user", v),
            Ok(GroupTransitiveMembers { id: "g1".into(), users_only: true })
        );
        assert_eq!(r("groups/g1/members", v), Err("segment members".into()));
        assert_eq!(r("groups/g1", v), Err("segment g1".into()));
        assert_eq!(r("directoryRoles/abc", v), Ok(DirectoryRole(RoleRef::Id("abc".into()))));
        assert_eq!(r("directoryRoles/abc/members", v), Ok(DirectoryRoleMembers(RoleRef::Id("abc".into()))));
        assert_eq!(
            r("directoryRoles(roleTemplateId='62e90394-69f5-4237-9190-012177145e10')/members", v),
            Ok(DirectoryRoleMembers(RoleRef::Template("62e90394-69f5-4237-9190-012177145e10".into())))
        );
        assert!(r("directoryRoles/abc/owners", v).is_err());
        assert!(r("directoryRoles(x='y')", v).is_err());
        assert!(r("directoryRoles()", v).is_err());
        assert!(r("directoryRoles(", v).is_err());
    }
}
