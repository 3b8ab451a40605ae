//! The daily reports (Microsoft Graph, "List userMfaSignInSummary"
//! (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-usermfasigninsummary?view=graph-rest-beta>);
//! Microsoft Graph, "List userPasswordResetsAndChangesSummary"
//! (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-userpasswordresetsandchangessummary?view=graph-rest-beta>)):
//! one row per UTC day for the 30 days ending with the day of the population's `refreshed_at` (that day included,
//! partial), newest first, each day at `00:00:00Z`.
//!
//! * `userMfaSignInSummary`: successful sign-ins of the day, split by `multi_factor`
//!   (`totalSignIns` = `singleFactorSignIns` + `multiFactorSignIns`; failed sign-ins are not counted,
//!   a choice: the documentation does not say). No query options ("Optional query parameters: Not
//!   supported"), so any `$` option is refused.
//! * `userPasswordResetsAndChangesSummary`: per day, successful `AdminPasswordReset`, `Reset` and
//!   `PasswordChange` events (`passwordResetsByAdminCount`, `passwordResetsSelfServiceCount`,
//!   `changePasswordSelfServiceCount`); `$filter` with comparisons on those three counts.

use axum::response::Response;
use time::{Date, OffsetDateTime, Time};

use super::collection::{self, Caps, Obj, guid};
use super::events::EventKind;
use super::odata_filter::{EQ, Field, ORD, Record, Schema, Ty, Val};
use super::population::Population;
use super::reports::{self, Ctx};
use super::rng::hash_str;
use super::timefmt::iso_utc;

/// Days of daily rows.
pub const DAILY_ROWS: usize = 30;

/// The days served, newest first.
fn days(pop: &Population) -> Vec<Date> {
    let last = pop.refreshed_at.to_offset(time::UtcOffset::UTC).date();
    let mut out = Vec::with_capacity(DAILY_ROWS);
    let mut d = Some(last);
    while let Some(day) = d
        && out.len() < DAILY_ROWS
    {
        out.push(day);
        d = day.previous_day();
    }
    out
}

/// Per-day tallies of the events for which `pick` returns a column (0..N).
fn tally<const N: usize>(
    pop: &Population,
    pick: impl Fn(&super::events::SimEvent) -> Option<usize>,
) -> Vec<(Date, [u64; N])> {
    let days = days(pop);
    let mut counts = vec![[0u64; N]; days.len()];
    let Some(oldest) = days.last().copied() else { return Vec::new() };
    let from = OffsetDateTime::new_utc(oldest, Time::MIDNIGHT);
    let start = pop.events.partition_point(|e| e.at < from);
    for e in &pop.events[start..] {
        if e.user as usize >= pop.users.len() || e.at > pop.refreshed_at {
            continue;
        }
        let Some(col) = pick(e) else { continue };
        let day = e.at.to_offset(time::UtcOffset::UTC).date();
        if let Some(i) = days.iter().position(|d| *d == day) {
            counts[i][col] += 1;
        }
    }
    days.into_iter().zip(counts).collect()
}

fn day_id(ctx: &Ctx<'_>, report: &str, day: Date) -> String {
    guid(hash_str(&format!("{report}/{day}"), 0xda1), hash_str(ctx.tenant_id, 0xda2))
}

fn midnight(day: Date) -> String {
    iso_utc(OffsetDateTime::new_utc(day, Time::MIDNIGHT), false)
}

fn serve(ctx: &Ctx<'_>, q: &collection::CollectionQuery, rows: &[Obj], context: &str) -> Response {
    match collection::rows_page(q, rows, context, ctx.base, ctx.raw_path) {
        Ok(body) => reports::answer(ctx, body),
        Err(m) => ctx.bad_request(&m),
    }
}

/// `GET /beta/reports/authenticationMethods/userMfaSignInSummary`.
pub(crate) fn mfa_sign_ins(ctx: &Ctx<'_>, pop: &Population) -> Response {
    const SCHEMA: Schema = Schema { type_name: "microsoft.graph.userMfaSignInSummary", fields: &[] };
    let scope = format!("{}/userMfaSignInSummary", ctx.tenant_id.to_ascii_lowercase());
    let q = match collection::parse(ctx.raw_query, &SCHEMA, &[], Caps::NONE, &scope, ctx.version) {
        Ok(q) => q,
        Err(m) => return ctx.bad_request(&m),
    };
    let rows: Vec<Obj> =
        tally::<2>(pop, |e| (e.kind == EventKind::SignIn && e.success).then_some(usize::from(e.multi_factor)))
            .into_iter()
            .map(|(day, [single, multi])| {
                Obj::new()
                    .str("@odata.type", "#microsoft.graph.userMfaSignInSummary")
                    .str("id", &day_id(ctx, "mfa", day))
                    .str("createdDateTime", &midnight(day))
                    .num("totalSignIns", single + multi)
                    .num("singleFactorSignIns", single)
                    .num("multiFactorSignIns", multi)
            })
            .collect();
    let context = format!("{}/$metadata#reports/authenticationMethods/userMfaSignInSummary", ctx.service_root());
    serve(ctx, &q, &rows, &context)
}

struct ResetRow([u64; 3]);

impl Record for ResetRow {
    fn get(&self, field: usize) -> Val<'_> {
        Val::Int(Some(self.0[field.min(2)] as i64))
    }
}

/// `GET /beta/reports/authenticationMethods/userPasswordResetsAndChangesSummary`.
pub(crate) fn password_resets(ctx: &Ctx<'_>, pop: &Population) -> Response {
    const SCHEMA: Schema = Schema {
        type_name: "microsoft.graph.userPasswordResetsAndChangesSummary",
        fields: &[
            Field { name: "passwordResetsByAdminCount", ty: Ty::Int, ops: EQ | ORD },
            Field { name: "passwordResetsSelfServiceCount", ty: Ty::Int, ops: EQ | ORD },
            Field { name: "changePasswordSelfServiceCount", ty: Ty::Int, ops: EQ | ORD },
        ],
    };
    let caps = Caps { filter: true, ..Caps::NONE };
    let scope = format!("{}/userPasswordResetsAndChangesSummary", ctx.tenant_id.to_ascii_lowercase());
    let q = match collection::parse(ctx.raw_query, &SCHEMA, &[], caps, &scope, ctx.version) {
        Ok(q) => q,
        Err(m) => return ctx.bad_request(&m),
    };
    let rows: Vec<Obj> = tally::<3>(pop, |e| match (e.kind, e.success) {
        (EventKind::AdminPasswordReset, true) => Some(0),
        (EventKind::Reset, true) => Some(1),
        (EventKind::PasswordChange, true) => Some(2),
        _ => None,
    })
    .into_iter()
    .filter(|(_, c)| q.filter.as_ref().is_none_or(|f| f.matches(&ResetRow(*c))))
    .map(|(day, [admin, sspr, change])| {
        Obj::new()
            .str("@odata.type", "#microsoft.graph.userPasswordResetsAndChangesSummary")
            .str("id", &day_id(ctx, "resets", day))
            .str("aggregatedDateTime", &midnight(day))
            .num("passwordResetsByAdminCount", admin)
            .num("passwordResetsSelfServiceCount", sspr)
            .num("changePasswordSelfServiceCount", change)
    })
    .collect();
    let context =
        format!("{}/$metadata#reports/authenticationMethods/userPasswordResetsAndChangesSummary", ctx.service_root());
    serve(ctx, &q, &rows, &context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_days_newest_first_and_totals_match_the_log() {
        let pop = Population::generate(3_000, 4);
        let d = days(&pop);
        assert_eq!(d.len(), DAILY_ROWS);
        assert!(d.windows(2).all(|w| w[0] > w[1]));
        let rows =
            tally::<2>(&pop, |e| (e.kind == EventKind::SignIn && e.success).then_some(usize::from(e.multi_factor)));
        let from = OffsetDateTime::new_utc(d[DAILY_ROWS - 1], Time::MIDNIGHT);
        let want =
            pop.events.iter().filter(|e| e.at >= from && e.kind == EventKind::SignIn && e.success).count() as u64;
        assert_eq!(rows.iter().map(|(_, c)| c[0] + c[1]).sum::<u64>(), want);
        assert!(rows.iter().all(|(_, c)| c[0] + c[1] > 0), "every day has sign-ins");
    }
}
