//! `GET /{v}/directoryRoles`, `/directoryRoles/{id}`, `/directoryRoles(roleTemplateId='…')` and their
//! `/members`: what an app-only client needs to find privileged admins itself, since the summary
//! functions (which know `includedUserRoles='privilegedAdmin'`) refuse app-only tokens.
//!
//! Membership comes from the population: a user is a member of every role in
//! `SimUser::privileged_roles`, and an admin (`isAdmin` true) with no privileged role holds one
//! ordinary admin role (Global Reader, Reports Reader, Security Reader or Application Administrator,
//! chosen from the user id), so the listing also shows roles a client must ignore. Disabled users
//! stay members, as in a real directory (they are absent from userRegistrationDetails, so a client
//! must intersect, not count). One service principal, an automation account, is a member of the
//! first privileged role that has user members: role members are directory objects, not only users.
//! Only activated roles (roles with members) exist, as in Graph. Member ids are the ids
//! userRegistrationDetails serves.
//!
//! Directory reads have their own, much larger, throttling limits: these routes do not use the
//! reports quota, and they need no P1/P2 licence.

use axum::http::StatusCode;
use axum::response::Response;

use super::catalog::PRIVILEGED_ROLES;
use super::collection::{self, Caps, Obj, guid};
use super::envelope;
use super::odata_filter::{EQ, Field, Record, Schema, Ty, Val};
use super::population::{Population, SimUser};
use super::reports::{self, Ctx};
use super::resolve::RoleRef;
use super::rng::hash_str;

/// Directory roles the simulator activates: (display name, well-known roleTemplateId, description).
/// The first nine are privileged roles of Microsoft Graph, "authenticationMethodsRoot: usersRegisteredByFeature"
/// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersregisteredbyfeature>); template ids and
/// descriptions are from Microsoft's "Microsoft Entra built-in roles" reference.
pub const DIRECTORY_ROLES: [(&str, &str, &str); 13] = [
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
        "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
    ),
    (
        "Security Administrator",
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365.",
    ),
    (
        "Conditional Access Administrator",
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        "Can manage Conditional Access capabilities.",
    ),
    (
        "Exchange Administrator",
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        "Can manage all aspects of the Exchange product.",
    ),
    (
        "SharePoint Administrator",
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
        "Can manage all aspects of the SharePoint service.",
    ),
    (
        "Helpdesk Administrator",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Can reset passwords for non-administrators and Helpdesk Administrators.",
    ),
    (
        "Billing Administrator",
        "b0f54661-2d74-4c50-afa3-1ec803f12efe",
        "Can perform common billing related tasks like updating payment information.",
    ),
    (
        "User Administrator",
        "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "Can manage all aspects of users and groups, including resetting passwords for limited admins.",
    ),
    (
        "Authentication Administrator",
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
        "Can access to view, set and reset authentication method information for any non-admin user.",
    ),
    (
        "Global Reader",
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
        "Can read everything that a Global Administrator can, but not update anything.",
    ),
    ("Reports Reader", "4a5d8f65-41da-4de4-8968-e035b65339cf", "Can read sign-in and audit reports."),
    (
        "Security Reader",
        "5d6b6bb7-de71-4623-b4af-96380a352509",
        "Can read security information and reports in Microsoft Entra ID and Office 365.",
    ),
    (
        "Application Administrator",
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Can create and manage all aspects of app registrations and enterprise apps.",
    ),
];

/// The ordinary admin roles of `DIRECTORY_ROLES` (after the nine privileged ones).
const OTHER_ADMIN_ROLES: usize = PRIVILEGED_ROLES.len();

/// The directory roles `u` holds: its privileged roles, or for an admin without one an ordinary
/// admin role chosen from the user id. Public so tests can compute the memberships served.
pub fn directory_roles_of(u: &SimUser) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = DIRECTORY_ROLES[..OTHER_ADMIN_ROLES]
        .iter()
        .filter(|(name, ..)| u.privileged_roles.iter().any(|r| r == name))
        .map(|(name, ..)| *name)
        .collect();
    if out.is_empty() && u.is_admin == Some(true) {
        let others = &DIRECTORY_ROLES[OTHER_ADMIN_ROLES..];
        out.push(others[(hash_str(&u.id, 0xad01) % others.len() as u64) as usize].0);
    }
    out
}

/// A role member.
enum Member<'a> {
    User(&'a SimUser),
    /// The automation service principal.
    ServicePrincipal,
}

/// Members of every role, in `DIRECTORY_ROLES` order (users in table order, the service principal last).
fn memberships(pop: &Population) -> Vec<Vec<Member<'_>>> {
    let mut out: Vec<Vec<Member<'_>>> = DIRECTORY_ROLES.iter().map(|_| Vec::new()).collect();
    for u in &pop.users {
        for name in directory_roles_of(u) {
            if let Some(i) = DIRECTORY_ROLES.iter().position(|(n, ..)| *n == name) {
                out[i].push(Member::User(u));
            }
        }
    }
    if let Some(first) = out[..OTHER_ADMIN_ROLES].iter_mut().find(|m| !m.is_empty()) {
        first.push(Member::ServicePrincipal);
    }
    out
}

fn role_id(ctx: &Ctx<'_>, template: &str) -> String {
    guid(hash_str(ctx.tenant_id, 0xd1), hash_str(template, 0xd2))
}

fn role_obj(ctx: &Ctx<'_>, i: usize) -> Obj {
    let (name, template, description) = DIRECTORY_ROLES[i];
    Obj::new()
        .str("id", &role_id(ctx, template))
        .raw("deletedDateTime", "null".into())
        .str("description", description)
        .str("displayName", name)
        .str("roleTemplateId", template)
}

/// The index of an activated role, by object id or template id (case-insensitive).
fn find_role(ctx: &Ctx<'_>, members: &[Vec<Member<'_>>], role: &RoleRef) -> Option<usize> {
    DIRECTORY_ROLES.iter().enumerate().position(|(i, (_, template, _))| {
        !members[i].is_empty()
            && match role {
                RoleRef::Id(id) => role_id(ctx, template).eq_ignore_ascii_case(id.trim()),
                RoleRef::Template(t) => template.eq_ignore_ascii_case(t.trim()),
            }
    })
}

fn not_found(ctx: &Ctx<'_>, role: &RoleRef) -> Response {
    let shown: String = match role {
        RoleRef::Id(id) | RoleRef::Template(id) => id.chars().take(100).collect(),
    };
    envelope::error(
        ctx.meta,
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!("Resource '{shown}' does not exist or one of its queried reference-property objects are not present."),
    )
}

fn unsupported_query(ctx: &Ctx<'_>, message: &str) -> Response {
    envelope::error(ctx.meta, StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", message)
}

const ROLE_SCHEMA: Schema = Schema {
    type_name: "microsoft.graph.directoryRole",
    fields: &[
        Field { name: "roleTemplateId", ty: Ty::Str, ops: EQ },
        Field { name: "displayName", ty: Ty::Str, ops: EQ },
        Field { name: "id", ty: Ty::Str, ops: EQ },
    ],
};
const ROLE_SELECT: &[&str] = &["id", "deletedDateTime", "description", "displayName", "roleTemplateId"];

struct RoleRow<'a>(&'a str, &'a str, String);

impl Record for RoleRow<'_> {
    fn get(&self, field: usize) -> Val<'_> {
        match field {
            0 => Val::Str(Some(self.0)),
            1 => Val::Str(Some(self.1)),
            _ => Val::Str(Some(&self.2)),
        }
    }
}

/// `GET /directoryRoles`: activated roles; `$filter` on `roleTemplateId`/`displayName`/`id` with
/// `eq` (the common `roleTemplateId eq '…'` lookup) and `$select`.
pub(crate) fn list(ctx: &Ctx<'_>, pop: &Population) -> Response {
    let caps = Caps { filter: true, select: true, ..Caps::NONE };
    let scope = format!("{}/directoryRoles", ctx.tenant_id.to_ascii_lowercase());
    let q = match collection::parse(ctx.raw_query, &ROLE_SCHEMA, ROLE_SELECT, caps, &scope, ctx.version) {
        Ok(q) => q,
        Err(m) => return unsupported_query(ctx, &m),
    };
    let members = memberships(pop);
    let mut rows = String::new();
    for (i, (name, template, _)) in DIRECTORY_ROLES.iter().enumerate() {
        let row = RoleRow(template, name, role_id(ctx, template));
        if members[i].is_empty() || q.filter.as_ref().is_some_and(|f| !f.matches(&row)) {
            continue;
        }
        if !rows.is_empty() {
            rows.push(',');
        }
        role_obj(ctx, i).write(&mut rows, q.select.as_deref());
    }
    let context = format!("{}/$metadata#directoryRoles{}", ctx.service_root(), q.select_suffix());
    reports::answer(ctx, collection::page(&context, None, &rows))
}

/// `GET /directoryRoles/{id}` or `/directoryRoles(roleTemplateId='…')`.
pub(crate) fn get(ctx: &Ctx<'_>, pop: &Population, role: &RoleRef) -> Response {
    let caps = Caps { select: true, ..Caps::NONE };
    let scope = format!("{}/directoryRole", ctx.tenant_id.to_ascii_lowercase());
    let q = match collection::parse(ctx.raw_query, &ROLE_SCHEMA, ROLE_SELECT, caps, &scope, ctx.version) {
        Ok(q) => q,
        Err(m) => return unsupported_query(ctx, &m),
    };
    let members = memberships(pop);
    let Some(i) = find_role(ctx, &members, role) else { return not_found(ctx, role) };
    let context = format!("{}/$metadata#directoryRoles{}/$entity", ctx.service_root(), q.select_suffix());
    let mut body = String::new();
    Obj::new().str("@odata.context", &context).merge(role_obj(ctx, i)).write(&mut body, q.select.as_deref());
    reports::answer(ctx, body.into_bytes())
}

const MEMBER_SELECT: &[&str] = &[
    "id",
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "appId",
    "servicePrincipalType",
];

fn member_obj(ctx: &Ctx<'_>, m: &Member<'_>) -> Obj {
    match m {
        Member::User(u) => {
            let name = u.user_display_name.split(" (").next().unwrap_or(&u.user_display_name);
            let (given, surname) = name.split_once(' ').map_or((name, None), |(g, s)| (g, Some(s)));
            let guest = u.user_principal_name.contains("#EXT#");
            Obj::new()
                .str("@odata.type", "#microsoft.graph.user")
                .str("id", &u.id)
                .list("businessPhones", &[])
                .str("displayName", &u.user_display_name)
                .str("givenName", given)
                .raw("jobTitle", "null".into())
                .opt_str("mail", (!guest).then_some(u.user_principal_name.as_str()))
                .raw("mobilePhone", "null".into())
                .raw("officeLocation", "null".into())
                .raw("preferredLanguage", "null".into())
                .opt_str("surname", surname)
                .str("userPrincipalName", &u.user_principal_name)
        }
        Member::ServicePrincipal => Obj::new()
            .str("@odata.type", "#microsoft.graph.servicePrincipal")
            .str("id", &guid(hash_str(ctx.tenant_id, 0x5e1), hash_str(ctx.tenant_id, 0x5e2)))
            .str("appId", &guid(hash_str(ctx.tenant_id, 0x5e3), hash_str(ctx.tenant_id, 0x5e4)))
            .str("displayName", "Contoso Provisioning Automation")
            .str("servicePrincipalType", "Application"),
    }
}

/// `GET /directoryRoles/{id}/members`: paged (`$top` default 100, max 999, as for directory
/// collections), `$select` supported (`$select=id` gives `{"@odata.type", "id"}` objects).
pub(crate) fn members(ctx: &Ctx<'_>, pop: &Population, role: &RoleRef) -> Response {
    let caps = Caps { top: true, select: true, paged: true, default_top: 100, max_top: 999, ..Caps::NONE };
    let members = memberships(pop);
    let Some(i) = find_role(ctx, &members, role) else { return not_found(ctx, role) };
    let empty = Schema { type_name: "microsoft.graph.directoryObject", fields: &[] };
    let scope = format!("{}/directoryRoles/{}/members", ctx.tenant_id.to_ascii_lowercase(), DIRECTORY_ROLES[i].1);
    let q = match collection::parse(ctx.raw_query, &empty, MEMBER_SELECT, caps, &scope, ctx.version) {
        Ok(q) => q,
        Err(m) => return unsupported_query(ctx, &m),
    };
    let rows: Vec<Obj> = members[i].iter().map(|m| member_obj(ctx, m)).collect();
    let context = format!("{}/$metadata#directoryObjects{}", ctx.service_root(), q.select_suffix());
    match collection::rows_page(&q, &rows, &context, ctx.base, ctx.raw_path) {
        Ok(body) => reports::answer(ctx, body),
        Err(m) => ctx.bad_request(&m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memberships_follow_the_population() {
        let pop = Population::generate(5_000, 2);
        let m = memberships(&pop);
        for (i, (name, ..)) in DIRECTORY_ROLES.iter().enumerate().take(OTHER_ADMIN_ROLES) {
            let users: Vec<&str> = m[i]
                .iter()
                .filter_map(|m| match m {
                    Member::User(u) => Some(u.id.as_str()),
                    Member::ServicePrincipal => None,
                })
                .collect();
            let want: Vec<&str> = pop
                .users
                .iter()
                .filter(|u| u.privileged_roles.iter().any(|r| r == name))
                .map(|u| u.id.as_str())
                .collect();
            assert_eq!(users, want, "{name}");
        }
        assert_eq!(m.iter().flatten().filter(|x| matches!(x, Member::ServicePrincipal)).count(), 1);
        assert!(m[OTHER_ADMIN_ROLES..].iter().any(|x| !x.is_empty()));
        for (name, ..) in &DIRECTORY_ROLES[..OTHER_ADMIN_ROLES] {
            assert!(PRIVILEGED_ROLES.contains(name));
        }
    }
}
