//! The period reports computed from the activity log:
//!
//! * `userRegistrationActivity(period)` (Microsoft Graph, "authenticationMethodsRoot: userRegistrationActivity"
//!   (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-userregistrationactivity?view=graph-rest-beta>)):
//!   registration and reset events per (feature, method), successes and failures, in the documented 25-row order
//!   plus any other (feature, method) seen in the window;
//! * `userSignInsByAuthMethodSummary(period)` (Microsoft Graph, "authenticationMethodsRoot:
//!   userSignInsByAuthMethodSummary"
//!   (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersigninsbyauthmethodsummary?view=graph-rest-beta>)):
//!   successful sign-ins per method, in the documented 16-row order plus any other method seen;
//! * the legacy `getCredentialUsageSummary(period)` (Microsoft Graph, "reportRoot: getCredentialUsageSummary"
//!   (<https://learn.microsoft.com/graph/api/reportroot-getcredentialusagesummary?view=graph-rest-beta>)): the same
//!   events as `userRegistrationActivity`, with methods in the legacy names (`enums::legacy_usage_auth_method`), so
//!   several modern methods can fold into one legacy row.
//!
//! The window is `(refreshed_at - days, refreshed_at]` of the population: the report reflects the
//! last refresh, not the wall clock, so tests compute exact truth. Events whose user index is out of
//! range are skipped. Zero rows are listed, as in the documentation example.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::response::Response;

use super::collection::{self, Caps, Obj, guid};
use super::enums::{FEATURE_TYPES, USAGE_AUTH_METHODS, legacy_usage_auth_method, render};
use super::events::{self, EventKind, REGISTRATION_ACTIVITY_METHODS, RESET_ACTIVITY_METHODS, SIGN_IN_METHODS};
use super::odata_filter::{EQ, Field, ORD, Record, Schema, Ty, Val};
use super::population::Population;
use super::reports::{self, Ctx};
use super::resolve::Period;
use super::rng::hash_str;

const FEATURE: Ty = Ty::Enum("microsoft.graph.featureType", &FEATURE_TYPES);
const USAGE: Ty = Ty::Enum("microsoft.graph.usageAuthMethod", &USAGE_AUTH_METHODS);

/// userRegistrationActivitySummary: every property filterable (Microsoft Graph, "authenticationMethodsRoot:
/// userRegistrationActivity"
/// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-userregistrationactivity?view=graph-rest-beta>)).
const ACTIVITY_SCHEMA: Schema = Schema {
    type_name: "microsoft.graph.userRegistrationActivitySummary",
    fields: &[
        Field { name: "feature", ty: FEATURE, ops: EQ },
        Field { name: "authMethod", ty: USAGE, ops: EQ },
        Field { name: "successfulActivityCount", ty: Ty::Int, ops: EQ | ORD },
        Field { name: "failureActivityCount", ty: Ty::Int, ops: EQ | ORD },
    ],
};
const ACTIVITY_SELECT: &[&str] = &["feature", "authMethod", "successfulActivityCount", "failureActivityCount"];

/// credentialUsageSummary: `$filter` on `feature` only (Microsoft Graph, "reportRoot: getCredentialUsageSummary"
/// (<https://learn.microsoft.com/graph/api/reportroot-getcredentialusagesummary?view=graph-rest-beta>)).
const LEGACY_SCHEMA: Schema = Schema {
    type_name: "microsoft.graph.credentialUsageSummary",
    fields: &[Field { name: "feature", ty: FEATURE, ops: EQ }],
};

const LISTED: Caps =
    Caps { filter: true, top: true, select: true, paged: true, count: false, default_top: 1000, max_top: 1000 };

/// One (feature, method) row.
struct ActivityRow {
    feature: &'static str,
    method: &'static str,
    ok: u64,
    failed: u64,
}

impl Record for ActivityRow {
    fn get(&self, field: usize) -> Val<'_> {
        match field {
            0 => Val::Str(Some(self.feature)),
            1 => Val::Str(Some(self.method)),
            2 => Val::Int(Some(self.ok as i64)),
            _ => Val::Int(Some(self.failed as i64)),
        }
    }
}

fn days(p: Period) -> Duration {
    Duration::from_secs(p.days() as u64 * 86_400)
}

/// Registration and reset counts per (feature, method name) over the period; `legacy` selects the
/// legacy method names.
fn activity_rows(pop: &Population, period: Period, legacy: bool) -> Vec<ActivityRow> {
    let name = |kind: EventKind, m: &'static str| if legacy { legacy_usage_auth_method(kind, m) } else { m };
    let mut rows: Vec<ActivityRow> = Vec::new();
    let add = |feature: &'static str, method: &'static str, rows: &mut Vec<ActivityRow>| {
        if !rows.iter().any(|r| r.feature == feature && r.method == method) {
            rows.push(ActivityRow { feature, method, ok: 0, failed: 0 });
        }
    };
    for m in REGISTRATION_ACTIVITY_METHODS {
        add("registration", name(EventKind::Registration, m), &mut rows);
    }
    for m in RESET_ACTIVITY_METHODS {
        add("reset", name(EventKind::Reset, m), &mut rows);
    }
    let fixed = rows.len();
    let mut extra: BTreeMap<(&'static str, &'static str), (u64, u64)> = BTreeMap::new();
    for e in events::window(&pop.events, pop.refreshed_at, days(period)) {
        let Some(feature) = events::feature(e.kind) else { continue };
        if e.user as usize >= pop.users.len() {
            continue;
        }
        let method = name(e.kind, e.method);
        let (ok, failed) = match rows[..fixed].iter_mut().find(|r| r.feature == feature && r.method == method) {
            Some(r) => (&mut r.ok, &mut r.failed),
            None => {
                let c = extra.entry((feature, method)).or_default();
                (&mut c.0, &mut c.1)
            }
        };
        if e.success {
            *ok += 1;
        } else {
            *failed += 1;
        }
    }
    rows.extend(extra.into_iter().map(|((feature, method), (ok, failed))| ActivityRow { feature, method, ok, failed }));
    rows
}

fn scope(ctx: &Ctx<'_>, route: &str) -> String {
    format!("{}/{route}", ctx.tenant_id.to_ascii_lowercase())
}

fn row_id(ctx: &Ctx<'_>, feature: &str, method: &str, period: Period) -> String {
    let key = format!("{feature}/{method}/{}", period.days());
    guid(hash_str(&key, 0x7a1), hash_str(ctx.tenant_id, 0x7a2))
}

fn serve(ctx: &Ctx<'_>, q: &collection::CollectionQuery, rows: &[Obj], context: &str) -> Response {
    match collection::rows_page(q, rows, context, ctx.base, ctx.raw_path) {
        Ok(body) => reports::answer(ctx, body),
        Err(m) => ctx.bad_request(&m),
    }
}

/// `GET /beta/reports/authenticationMethods/userRegistrationActivity(period='d1'|'d7'|'d30')`.
pub(crate) fn registration_activity(ctx: &Ctx<'_>, pop: &Population, period: Period) -> Response {
    let scope = scope(ctx, "userRegistrationActivity");
    let q = match collection::parse(ctx.raw_query, &ACTIVITY_SCHEMA, ACTIVITY_SELECT, LISTED, &scope, ctx.version) {
        Ok(q) => q,
        Err(m) => return ctx.bad_request(&m),
    };
    let rows: Vec<Obj> = activity_rows(pop, period, false)
        .into_iter()
        .filter(|r| q.filter.as_ref().is_none_or(|f| f.matches(r)))
        .map(|r| {
            Obj::new()
                .str("@odata.type", "#microsoft.graph.userRegistrationActivitySummary")
                .str("id", &row_id(ctx, r.feature, r.method, period))
                .str("feature", r.feature)
                .num("successfulActivityCount", r.ok)
                .num("failureActivityCount", r.failed)
                .str("authMethod", render(&USAGE_AUTH_METHODS, r.method, ctx.include_unknown))
        })
        .collect();
    let context =
        format!("{}/$metadata#Collection(microsoft.graph.userRegistrationActivitySummary)", ctx.service_root());
    serve(ctx, &q, &rows, &context)
}

/// `GET /beta/reports/getCredentialUsageSummary(period='D1'|'D7'|'D30')` (legacy).
pub(crate) fn credential_usage_summary(ctx: &Ctx<'_>, pop: &Population, period: Period) -> Response {
    let scope = scope(ctx, "getCredentialUsageSummary");
    let caps = Caps { select: false, ..LISTED };
    let q = match collection::parse(ctx.raw_query, &LEGACY_SCHEMA, &[], caps, &scope, ctx.version) {
        Ok(q) => q,
        Err(m) => return ctx.bad_request(&m),
    };
    let rows: Vec<Obj> = activity_rows(pop, period, true)
        .into_iter()
        .filter(|r| q.filter.as_ref().is_none_or(|f| f.matches(r)))
        .map(|r| {
            Obj::new()
                .str("id", &row_id(ctx, r.feature, &format!("legacy:{}", r.method), period))
                .str("feature", r.feature)
                .num("successfulActivityCount", r.ok)
                .num("failureActivityCount", r.failed)
                .str("authMethod", render(&USAGE_AUTH_METHODS, r.method, ctx.include_unknown))
        })
        .collect();
    // The context is the documentation's, odd path included (Microsoft Graph, "reportRoot: getCredentialUsageSummary"
    // (https://learn.microsoft.com/graph/api/reportroot-getcredentialusagesummary?view=graph-rest-beta)).
    let context =
        format!("{}/reports/$metadata#Collection(microsoft.graph.getCredentialUsageSummary)", ctx.service_root());
    serve(ctx, &q, &rows, &context)
}

/// `GET /beta/reports/authenticationMethods/userSignInsByAuthMethodSummary(period=…)`: successful
/// sign-ins per method. No query options are documented, so none are accepted.
pub(crate) fn sign_ins_by_method(ctx: &Ctx<'_>, pop: &Population, period: Period) -> Response {
    const SCHEMA: Schema = Schema { type_name: "microsoft.graph.userSignInUsageByAuthMethodActivity", fields: &[] };
    let scope = scope(ctx, "userSignInsByAuthMethodSummary");
    let q = match collection::parse(ctx.raw_query, &SCHEMA, &[], Caps::NONE, &scope, ctx.version) {
        Ok(q) => q,
        Err(m) => return ctx.bad_request(&m),
    };
    let mut counts: Vec<(&'static str, u64)> = SIGN_IN_METHODS.iter().map(|m| (*m, 0)).collect();
    let mut extra: BTreeMap<&'static str, u64> = BTreeMap::new();
    for e in events::window(&pop.events, pop.refreshed_at, days(period)) {
        if e.kind != EventKind::SignIn || !e.success || e.user as usize >= pop.users.len() {
            continue;
        }
        match counts.iter_mut().find(|(m, _)| *m == e.method) {
            Some((_, n)) => *n += 1,
            None => *extra.entry(e.method).or_default() += 1,
        }
    }
    counts.extend(extra);
    let rows: Vec<Obj> = counts
        .into_iter()
        .map(|(m, n)| {
            Obj::new()
                .str("@odata.type", "#microsoft.graph.userSignInUsageByAuthMethodActivity")
                .str("authenticationMethod", m)
                .num("successActivityCount", n)
        })
        .collect();
    let context =
        format!("{}/$metadata#Collection(microsoft.graph.userSignInUsageByAuthMethodActivity)", ctx.service_root());
    serve(ctx, &q, &rows, &context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_cover_the_documented_list_and_agree_with_the_log() {
        let pop = Population::generate(4_000, 3);
        for period in [Period::D1, Period::D7, Period::D30] {
            let rows = activity_rows(&pop, period, false);
            assert!(rows.len() >= 25);
            assert_eq!((rows[0].feature, rows[0].method), ("registration", "windowsHelloForBusiness"));
            assert_eq!((rows[17].feature, rows[17].method), ("reset", "email"));
            let total: u64 = rows.iter().map(|r| r.ok + r.failed).sum();
            let lower = pop.refreshed_at - days(period);
            let want = pop
                .events
                .iter()
                .filter(|e| e.at > lower && e.at <= pop.refreshed_at)
                .filter(|e| matches!(e.kind, EventKind::Registration | EventKind::Reset))
                .count() as u64;
            assert_eq!(total, want, "{period:?}");
            let legacy = activity_rows(&pop, period, true);
            assert_eq!(legacy.iter().map(|r| r.ok + r.failed).sum::<u64>(), want);
            assert!(legacy.iter().any(|r| r.method == "appNotification"));
        }
        let d30 = activity_rows(&pop, Period::D30, false);
        assert!(d30.iter().any(|r| r.failed > 0) && d30.iter().any(|r| r.ok > 0));
    }
}
