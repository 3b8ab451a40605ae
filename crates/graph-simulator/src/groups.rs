//! `GET /{v}/groups/{id}/transitiveMembers` (Microsoft Graph, "List group transitive members",
//! https://learn.microsoft.com/graph/api/group-list-transitivemembers): what a client needs to count a
//! pilot group, a department, or to leave break-glass accounts out of its numbers.
//!
//! Groups come from the population, like directory roles: membership is a function of the user id
//! ([`groups_of`]), so it stays stable while the demo's population drifts. They nest (All staff holds
//! the department groups, Engineering holds Platform engineering), and devices are members too, as in
//! a real directory: transitive members are directory objects, and a client counting users must keep
//! only `#microsoft.graph.user`. Disabled users stay members (userRegistrationDetails omits them, so a
//! client must join, not count). Paged like every directory collection (`$top` default 100, max 999).
//!
//! The OData cast `/transitiveMembers/microsoft.graph.user` is an advanced query here: it needs the
//! header `ConsistencyLevel: eventual` and `$count=true`, and is refused with 400 without them. Whether
//! Graph insists on both for this cast is UNCERTAIN; the simulator takes the strict reading, so a
//! client that works here works either way.
//!
//! Directory reads need `GroupMember.Read.All` (or a broader permission), no licence, and do not use
//! the reports quota.

use axum::http::StatusCode;
use axum::response::Response;

use super::collection::{self, Caps, Obj, guid};
use super::envelope;
use super::odata_filter::Schema;
use super::population::{Population, SimUser};
use super::reports::{self, Ctx};
use super::rng::hash_str;

/// The simulator's groups, by display name, in the order [`groups_of`] returns them.
pub const GROUP_NAMES: [&str; 8] = [
    "Passkey pilot",
    "Sales",
    "Engineering",
    "Platform engineering",
    "Support",
    "All staff",
    "Break-glass accounts",
    "Empty group",
];

/// Break-glass accounts: the first admins of the population, at most this many.
const BREAK_GLASS: usize = 2;

/// A group and its direct members, by object id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimGroup {
    pub name: &'static str,
    pub id: String,
    /// Direct user members, disabled users included, in population order.
    pub users: Vec<String>,
    /// Direct member groups (object ids).
    pub groups: Vec<String>,
    /// Direct member devices (object ids).
    pub devices: Vec<String>,
}

/// The object id of the group named `name` in `tenant_id` (a GUID; tests and configs need it).
pub fn group_object_id(tenant_id: &str, name: &str) -> String {
    guid(hash_str(&tenant_id.to_ascii_lowercase(), 0x6701), hash_str(name, 0x6702))
}

fn device_id(tenant_id: &str, group: &str, i: usize) -> String {
    guid(hash_str(&tenant_id.to_ascii_lowercase(), 0x6703), hash_str(&format!("{group}/{i}"), 0x6704))
}

/// Which department group (by index into [`GROUP_NAMES`]) a user belongs to directly, if any: Sales
/// 40 %, Engineering 30 %, Platform engineering 10 %, Support 10 %, none 10 %.
fn department(u: &SimUser) -> Option<usize> {
    match hash_str(&u.id, 0x6705) % 10 {
        0..=3 => Some(1),
        4..=6 => Some(2),
        7 => Some(3),
        8 => Some(4),
        _ => None,
    }
}

/// Every group of the tenant with its direct members. Public so tests compute the transitive
/// memberships themselves.
pub fn groups_of(pop: &Population, tenant_id: &str) -> Vec<SimGroup> {
    let id = |name: &str| group_object_id(tenant_id, name);
    let mut groups: Vec<SimGroup> = GROUP_NAMES
        .iter()
        .map(|name| SimGroup { name, id: id(name), users: Vec::new(), groups: Vec::new(), devices: Vec::new() })
        .collect();
    for u in &pop.users {
        if hash_str(&u.id, 0x6706).is_multiple_of(20) {
            groups[0].users.push(u.id.clone());
        }
        if let Some(d) = department(u) {
            groups[d].users.push(u.id.clone());
        }
    }
    let admins = pop.users.iter().filter(|u| u.is_admin == Some(true)).take(BREAK_GLASS);
    groups[6].users = admins.map(|u| u.id.clone()).collect();
    groups[0].devices.push(device_id(tenant_id, GROUP_NAMES[0], 0));
    groups[2].groups.push(id(GROUP_NAMES[3]));
    groups[5].groups = vec![id(GROUP_NAMES[1]), id(GROUP_NAMES[2]), id(GROUP_NAMES[4])];
    groups[5].devices = (0..2).map(|i| device_id(tenant_id, GROUP_NAMES[5], i)).collect();
    groups
}

/// A transitive member.
enum Member<'a> {
    User(&'a SimUser),
    Group(&'a SimGroup),
    Device(&'a str),
}

/// The transitive members of `groups[at]`, each once, breadth first (a cycle would end, too).
fn transitive<'a>(pop: &'a Population, groups: &'a [SimGroup], at: usize) -> Vec<Member<'a>> {
    let by_id: std::collections::HashMap<&str, &SimUser> = pop.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut queue = std::collections::VecDeque::from([at]);
    let mut visited = vec![false; groups.len()];
    visited[at] = true;
    while let Some(g) = queue.pop_front() {
        let group = &groups[g];
        for id in &group.users {
            if let Some(u) = by_id.get(id.as_str()).filter(|_| seen.insert(id.as_str())) {
                out.push(Member::User(u));
            }
        }
        for id in &group.groups {
            if let Some(n) = groups.iter().position(|x| &x.id == id).filter(|n| !visited[*n]) {
                visited[n] = true;
                out.push(Member::Group(&groups[n]));
                queue.push_back(n);
            }
        }
        for id in &group.devices {
            if seen.insert(id.as_str()) {
                out.push(Member::Device(id));
            }
        }
    }
    out
}

const MEMBER_SELECT: &[&str] = &["id", "displayName", "userPrincipalName", "mailEnabled", "securityEnabled"];

fn member_obj(m: &Member<'_>) -> Obj {
    match m {
        Member::User(u) => Obj::new()
            .str("@odata.type", "#microsoft.graph.user")
            .str("id", &u.id)
            .str("displayName", &u.user_display_name)
            .str("userPrincipalName", &u.user_principal_name),
        Member::Group(g) => Obj::new()
            .str("@odata.type", "#microsoft.graph.group")
            .str("id", &g.id)
            .str("displayName", g.name)
            .raw("mailEnabled", "false".into())
            .raw("securityEnabled", "true".into()),
        Member::Device(id) => Obj::new()
            .str("@odata.type", "#microsoft.graph.device")
            .str("id", id)
            .str("displayName", &format!("DESKTOP-{}", &id[..8].to_ascii_uppercase())),
    }
}

fn unsupported_query(ctx: &Ctx<'_>, message: &str) -> Response {
    envelope::error(ctx.meta, StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", message)
}

/// `GET /groups/{id}/transitiveMembers[/microsoft.graph.user]`. `eventual`: the request carried
/// `ConsistencyLevel: eventual`.
pub(crate) fn transitive_members(
    ctx: &Ctx<'_>,
    pop: &Population,
    group: &str,
    users_only: bool,
    eventual: bool,
) -> Response {
    let groups = groups_of(pop, ctx.tenant_id);
    let Some(at) = groups.iter().position(|g| g.id.eq_ignore_ascii_case(group.trim())) else {
        let shown: String = group.chars().take(100).collect();
        return envelope::error(
            ctx.meta,
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!(
                "Resource '{shown}' does not exist or one of its queried reference-property objects are not present."
            ),
        );
    };
    let caps = Caps { top: true, select: true, paged: true, count: true, default_top: 100, max_top: 999, ..Caps::NONE };
    let empty = Schema { type_name: "microsoft.graph.directoryObject", fields: &[] };
    let scope =
        format!("{}/groups/{}/transitiveMembers/{users_only}", ctx.tenant_id.to_ascii_lowercase(), groups[at].id);
    let q = match collection::parse(ctx.raw_query, &empty, MEMBER_SELECT, caps, &scope, ctx.version) {
        Ok(q) => q,
        Err(m) => return unsupported_query(ctx, &m),
    };
    if users_only && !(eventual && q.count) {
        return unsupported_query(
            ctx,
            "The OData cast to microsoft.graph.user is an advanced query: send the header 'ConsistencyLevel: eventual' and '$count=true'.",
        );
    }
    let rows: Vec<Obj> = transitive(pop, &groups, at)
        .iter()
        .filter(|m| !users_only || matches!(m, Member::User(_)))
        .map(member_obj)
        .collect();
    let entity = if users_only { "users" } else { "directoryObjects" };
    let context = format!("{}/$metadata#{entity}{}", ctx.service_root(), q.select_suffix());
    match collection::rows_page(&q, &rows, &context, ctx.base, ctx.raw_path) {
        Ok(body) if q.count => reports::answer(ctx, with_count(body, rows.len())),
        Ok(body) => reports::answer(ctx, body),
        Err(m) => ctx.bad_request(&m),
    }
}

/// Puts `"@odata.count"` after `@odata.context`, where Graph writes it on every page of a counted query.
fn with_count(page: Vec<u8>, count: usize) -> Vec<u8> {
    let text = String::from_utf8(page).unwrap_or_default();
    match text.find(",\"") {
        Some(at) => format!("{},\"@odata.count\":{count}{}", &text[..at], &text[at..]).into_bytes(),
        None => text.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_nest_and_hold_devices_and_every_department_user() {
        let pop = Population::generate(3_000, 4);
        let groups = groups_of(&pop, "t");
        assert_eq!(groups.iter().map(|g| g.name).collect::<Vec<_>>(), GROUP_NAMES);
        let all_staff = transitive(&pop, &groups, 5);
        let users = all_staff.iter().filter(|m| matches!(m, Member::User(_))).count();
        let in_a_department = pop.users.iter().filter(|u| department(u).is_some()).count();
        assert_eq!(users, in_a_department, "All staff reaches Platform engineering through Engineering");
        assert_eq!(all_staff.iter().filter(|m| matches!(m, Member::Group(_))).count(), 4);
        assert_eq!(all_staff.iter().filter(|m| matches!(m, Member::Device(_))).count(), 2);
        assert_eq!(groups[6].users.len(), BREAK_GLASS);
        assert!(transitive(&pop, &groups, 7).is_empty());
        let pilot = groups[0].users.len();
        assert!(pilot > 100 && pilot < 200, "about 5 %: {pilot}");
    }

    #[test]
    fn counted_pages_carry_the_count_after_the_context() {
        let body = with_count(br#"{"@odata.context":"x","value":[]}"#.to_vec(), 7);
        assert_eq!(String::from_utf8(body).unwrap(), r#"{"@odata.context":"x","@odata.count":7,"value":[]}"#);
    }
}
