//! The legacy beta `reportRoot` reports computed from the users (Microsoft Graph, "reportRoot:
//! getCredentialUserRegistrationCount"
//! (<https://learn.microsoft.com/graph/api/reportroot-getcredentialuserregistrationcount?view=graph-rest-beta>);
//! Microsoft Graph, "List credentialUserRegistrationDetails"
//! (<https://learn.microsoft.com/graph/api/reportroot-list-credentialuserregistrationdetails?view=graph-rest-beta>)); the
//! two computed from the activity log live in `activity` (getCredentialUsageSummary) and `event_list`
//! (userCredentialUsageDetails).
//!
//! Definitions, shared by both so they agree (and with userRegistrationDetails): a listed user
//! (enabled) is `isRegistered` when SSPR-registered, `isEnabled` when SSPR-enabled, `isCapable` when
//! SSPR-capable or MFA-capable ("ready to perform self-service password reset or MFA"), and
//! `isMfaRegistered` when MFA-registered. `authMethods` are the user's methods in
//! `registrationAuthMethod` names (`enums::legacy_registration_auth_methods`; FIDO2, Windows Hello
//! and passkeys are not reported, as on the real service).

use axum::response::Response;

use super::collection::{self, Caps, Obj, guid};
use super::enums::{legacy_registration_auth_methods, registration_auth_method_as_served};
use super::odata_filter::{ANY, EQ, Field, Record, STARTS, Schema, Ty, Val};
use super::population::{Population, SimUser};
use super::reports::{self, Ctx};
use super::rng::hash_str;

/// `isCapable` of the legacy reports.
pub(crate) fn legacy_capable(u: &SimUser) -> bool {
    u.is_sspr_capable || u.is_mfa_capable
}

/// `GET /beta/reports/getCredentialUserRegistrationCount`: one entity with `totalUserCount` (listed
/// users, i.e. `accountEnabled`) and the four `registrationStatus` counts. No query options.
pub(crate) fn registration_count(ctx: &Ctx<'_>, pop: &Population) -> Response {
    const SCHEMA: Schema = Schema { type_name: "microsoft.graph.credentialUserRegistrationCount", fields: &[] };
    let scope = format!("{}/getCredentialUserRegistrationCount", ctx.tenant_id.to_ascii_lowercase());
    if let Err(m) = collection::parse(ctx.raw_query, &SCHEMA, &[], Caps::NONE, &scope, ctx.version) {
        return ctx.bad_request(&m);
    }
    let (mut total, mut registered, mut enabled, mut capable, mut mfa) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for u in pop.listed() {
        total += 1;
        registered += u64::from(u.is_sspr_registered);
        enabled += u64::from(u.is_sspr_enabled);
        capable += u64::from(legacy_capable(u));
        mfa += u64::from(u.is_mfa_registered);
    }
    let counts: Vec<String> =
        [("registered", registered), ("enabled", enabled), ("capable", capable), ("mfaRegistered", mfa)]
            .iter()
            .map(|(s, n)| Obj::new().str("registrationStatus", s).num("registrationCount", n).into_string())
            .collect();
    let entity = Obj::new()
        .str("id", &guid(hash_str(ctx.tenant_id, 0xc0c1), hash_str(ctx.tenant_id, 0xc0c2)))
        .num("totalUserCount", total)
        .raw("userRegistrationCounts", format!("[{}]", counts.join(",")))
        .into_string();
    // The documentation's context, odd path included (Microsoft Graph, "reportRoot: getCredentialUserRegistrationCount"
    // (https://learn.microsoft.com/graph/api/reportroot-getcredentialuserregistrationcount?view=graph-rest-beta)).
    let context =
        format!("{}/reports/$metadata#Collection(microsoft.graph.credentialUserRegistrationCount)", ctx.service_root());
    reports::answer(ctx, collection::page(&context, None, &entity))
}

const DETAILS_SCHEMA: Schema = Schema {
    type_name: "microsoft.graph.credentialUserRegistrationDetails",
    fields: &[
        Field { name: "userDisplayName", ty: Ty::Str, ops: EQ | STARTS },
        Field { name: "userPrincipalName", ty: Ty::Str, ops: EQ | STARTS },
        Field { name: "authMethods", ty: Ty::List, ops: ANY },
        Field { name: "isRegistered", ty: Ty::Bool, ops: EQ },
        Field { name: "isEnabled", ty: Ty::Bool, ops: EQ },
        Field { name: "isCapable", ty: Ty::Bool, ops: EQ },
        Field { name: "isMfaRegistered", ty: Ty::Bool, ops: EQ },
    ],
};

const DETAILS_SELECT: &[&str] = &[
    "userPrincipalName",
    "userDisplayName",
    "authMethods",
    "isRegistered",
    "isEnabled",
    "isCapable",
    "isMfaRegistered",
];

struct DetailsRow<'a> {
    u: &'a SimUser,
    methods: Vec<&'static str>,
}

impl Record for DetailsRow<'_> {
    fn get(&self, field: usize) -> Val<'_> {
        match field {
            0 => Val::Str(Some(&self.u.user_display_name)),
            1 => Val::Str(Some(&self.u.user_principal_name)),
            2 => Val::List(self.methods.clone()),
            3 => Val::Bool(Some(self.u.is_sspr_registered)),
            4 => Val::Bool(Some(self.u.is_sspr_enabled)),
            5 => Val::Bool(Some(legacy_capable(self.u))),
            _ => Val::Bool(Some(self.u.is_mfa_registered)),
        }
    }
}

/// `GET /beta/reports/credentialUserRegistrationDetails`: one row per listed user, table order,
/// paged like userRegistrationDetails (`$top` ≤ 1000, skiptoken = table position).
pub(crate) fn registration_details(ctx: &Ctx<'_>, pop: &Population) -> Response {
    let caps =
        Caps { filter: true, top: true, select: true, paged: true, count: false, default_top: 1000, max_top: 1000 };
    let scope = format!("{}/credentialUserRegistrationDetails", ctx.tenant_id.to_ascii_lowercase());
    let q = match collection::parse(ctx.raw_query, &DETAILS_SCHEMA, DETAILS_SELECT, caps, &scope, ctx.version) {
        Ok(q) => q,
        Err(m) => return ctx.bad_request(&m),
    };
    let mut pos = match q.cursor_number() {
        Ok(p) => p.unwrap_or(0),
        Err(m) => return ctx.bad_request(&m),
    };
    let mut rows = String::new();
    let mut count = 0;
    let mut next = None;
    while pos < pop.users.len() && q.top > 0 {
        let u = &pop.users[pos];
        pos += 1;
        if !u.enabled {
            continue;
        }
        let row = DetailsRow { u, methods: legacy_registration_auth_methods(&u.methods_registered) };
        if q.filter.as_ref().is_some_and(|f| !f.matches(&row)) {
            continue;
        }
        if count == q.top {
            next = Some(pos - 1);
            break;
        }
        let shown: Vec<&str> =
            row.methods.iter().map(|m| registration_auth_method_as_served(m, ctx.include_unknown)).collect();
        if count > 0 {
            rows.push(',');
        }
        Obj::new()
            .str("id", &u.id)
            .str("userPrincipalName", &u.user_principal_name)
            .str("userDisplayName", &u.user_display_name)
            .list("authMethods", &shown)
            .bool("isRegistered", u.is_sspr_registered)
            .bool("isEnabled", u.is_sspr_enabled)
            .bool("isCapable", legacy_capable(u))
            .bool("isMfaRegistered", u.is_mfa_registered)
            .write(&mut rows, q.select.as_deref());
        count += 1;
    }
    let context = format!(
        "{}/reports/$metadata#Collection(microsoft.graph.credentialUserRegistrationDetails)",
        ctx.service_root()
    );
    let link = next.map(|p| q.next_link(ctx.base, ctx.raw_path, &p.to_string()));
    reports::answer(ctx, collection::page(&context, link.as_deref(), &rows))
}
