//! Per-event listings of the registration and reset events, newest first:
//!
//! * `userEventsSummary` (Microsoft Graph, "List userEventsSummary"
//!   (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-usereventssummary?view=graph-rest-beta>)),
//!   modern `usageAuthMethod` names, `id` = the user's object id as the documentation says ("User object
//!   identifier"; so ids repeat across rows and are the same ids userRegistrationDetails serves);
//! * the legacy `userCredentialUsageDetails` (Microsoft Graph, "List userCredentialUsageDetails"
//!   (<https://learn.microsoft.com/graph/api/reportroot-list-usercredentialusagedetails?view=graph-rest-beta>)), legacy
//!   method names and a per-event id.
//!
//! `$filter` takes the documented forms (feature, isSuccess, failureReason, authMethod,
//! userDisplayName/userPrincipalName with `eq`/`startswith`) plus `eventDateTime` with `eq`, `gt`,
//! `ge`, `lt`, `le`, which the documentation does not list (UNCERTAIN) but which a client needs
//! for a lookback window. `$top` defaults to and is capped at 1000 ("The default and max `$top`
//! parameter is 1000 records"). `failureReason` is `""` for successes (the property is not nullable
//! and the documentation example shows `""`).
//!
//! The skiptoken holds the next event's time and its rank among events of that same time, so paging
//! stays exact while a drift appends newer events or drops old ones.

use axum::response::Response;
use time::OffsetDateTime;

use super::collection::{self, Caps, Obj, guid};
use super::enums::{FEATURE_TYPES, USAGE_AUTH_METHODS, legacy_usage_auth_method, render};
use super::events::{self, SimEvent};
use super::odata_filter::{EQ, Field, ORD, Record, STARTS, Schema, Ty, Val};
use super::population::{Population, SimUser};
use super::reports::{self, Ctx};
use super::rng::hash_str;
use super::timefmt::iso_utc;

/// Which listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `userCredentialUsageDetails`.
    Legacy,
    /// `userEventsSummary`.
    Summary,
}

const FEATURE: Ty = Ty::Enum("microsoft.graph.featureType", &FEATURE_TYPES);
const USAGE: Ty = Ty::Enum("microsoft.graph.usageAuthMethod", &USAGE_AUTH_METHODS);
/// Index of `eventDateTime` in both schemas.
const EVENT_TIME: usize = 6;

const SUMMARY_SCHEMA: Schema = Schema {
    type_name: "microsoft.graph.userEventsSummary",
    fields: &[
        Field { name: "feature", ty: FEATURE, ops: EQ },
        Field { name: "isSuccess", ty: Ty::Bool, ops: EQ },
        Field { name: "failureReason", ty: Ty::Str, ops: EQ },
        Field { name: "authMethod", ty: USAGE, ops: EQ },
        Field { name: "userDisplayName", ty: Ty::Str, ops: EQ | STARTS },
        Field { name: "userPrincipalName", ty: Ty::Str, ops: EQ | STARTS },
        Field { name: "eventDateTime", ty: Ty::Time, ops: EQ | ORD },
    ],
};

/// The "List userCredentialUsageDetails" page also documents `startswith` on `failureReason`.
const LEGACY_SCHEMA: Schema = Schema {
    type_name: "microsoft.graph.userCredentialUsageDetails",
    fields: &[
        Field { name: "feature", ty: FEATURE, ops: EQ },
        Field { name: "isSuccess", ty: Ty::Bool, ops: EQ },
        Field { name: "failureReason", ty: Ty::Str, ops: EQ | STARTS },
        Field { name: "authMethod", ty: USAGE, ops: EQ },
        Field { name: "userDisplayName", ty: Ty::Str, ops: EQ | STARTS },
        Field { name: "userPrincipalName", ty: Ty::Str, ops: EQ | STARTS },
        Field { name: "eventDateTime", ty: Ty::Time, ops: EQ | ORD },
    ],
};

const SELECT: &[&str] =
    &["feature", "userPrincipalName", "userDisplayName", "isSuccess", "authMethod", "failureReason", "eventDateTime"];

const CAPS: Caps =
    Caps { filter: true, top: true, select: true, paged: true, count: false, default_top: 1000, max_top: 1000 };

struct EventRow<'a> {
    e: &'a SimEvent,
    u: &'a SimUser,
    feature: &'static str,
    method: &'static str,
}

impl Record for EventRow<'_> {
    fn get(&self, field: usize) -> Val<'_> {
        match field {
            0 => Val::Str(Some(self.feature)),
            1 => Val::Bool(Some(self.e.success)),
            2 => Val::Str(Some(self.e.failure_reason.unwrap_or(""))),
            3 => Val::Str(Some(self.method)),
            4 => Val::Str(Some(&self.u.user_display_name)),
            5 => Val::Str(Some(&self.u.user_principal_name)),
            _ => Val::Time(self.e.at),
        }
    }
}

fn nanos(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos()
}

/// The cursor of event `i`: its time and how many events of the same time come after it.
fn cursor_of(events: &[SimEvent], i: usize) -> String {
    let t = nanos(events[i].at);
    let group_end = events.partition_point(|e| nanos(e.at) <= t).max(i + 1);
    format!("{t}.{}", group_end - 1 - i)
}

/// The exclusive end (`next index + 1`) a cursor resumes at; `None` if malformed.
fn resume(events: &[SimEvent], cursor: &str) -> Option<usize> {
    let (t, k) = cursor.split_once('.')?;
    let t: i128 = t.parse().ok()?;
    let k: usize = k.parse().ok()?;
    let start = events.partition_point(|e| nanos(e.at) < t);
    let end = events.partition_point(|e| nanos(e.at) <= t).max(start);
    Some(if k < end - start { end - k } else { start })
}

fn event_id(e: &SimEvent, u: &SimUser) -> String {
    let key = format!("{}/{:?}/{}/{}", u.id, e.kind, e.method, nanos(e.at));
    guid(hash_str(&key, 0xe1), hash_str(&key, 0xe2))
}

/// The listing for `flavor`.
pub(crate) fn list(ctx: &Ctx<'_>, pop: &Population, flavor: Flavor) -> Response {
    let (schema, route) = match flavor {
        Flavor::Legacy => (&LEGACY_SCHEMA, "userCredentialUsageDetails"),
        Flavor::Summary => (&SUMMARY_SCHEMA, "userEventsSummary"),
    };
    let scope = format!("{}/{route}", ctx.tenant_id.to_ascii_lowercase());
    let q = match collection::parse(ctx.raw_query, schema, SELECT, CAPS, &scope, ctx.version) {
        Ok(q) => q,
        Err(m) => return ctx.bad_request(&m),
    };
    let events = &pop.events;
    let mut end = match q.cursor.as_deref().map(|c| resume(events, c)) {
        None => events.len(),
        Some(Some(p)) => p.min(events.len()),
        Some(None) => {
            return ctx.bad_request(
                "The $skiptoken is invalid or does not belong to this query. Start again without $skiptoken.",
            );
        }
    };
    let floor = q.filter.as_ref().and_then(|f| f.min_time(EVENT_TIME));
    let mut rows = String::new();
    let mut count = 0usize;
    let mut next = None;
    while end > 0 && q.top > 0 {
        let i = end - 1;
        let e = &events[i];
        if floor.is_some_and(|t| e.at < t) {
            break;
        }
        end -= 1;
        let (Some(feature), Some(u)) = (events::feature(e.kind), pop.users.get(e.user as usize)) else { continue };
        let method = match flavor {
            Flavor::Legacy => legacy_usage_auth_method(e.kind, e.method),
            Flavor::Summary => e.method,
        };
        let row = EventRow { e, u, feature, method };
        if q.filter.as_ref().is_some_and(|f| !f.matches(&row)) {
            continue;
        }
        if count == q.top {
            next = Some(cursor_of(events, i));
            break;
        }
        let id = match flavor {
            Flavor::Legacy => event_id(e, u),
            Flavor::Summary => u.id.clone(),
        };
        let mut obj = Obj::new();
        if flavor == Flavor::Summary {
            obj = obj.str("@odata.type", "#microsoft.graph.userEventsSummary");
        }
        let obj = obj
            .str("id", &id)
            .str("feature", feature)
            .str("userPrincipalName", &u.user_principal_name)
            .str("userDisplayName", &u.user_display_name)
            .bool("isSuccess", e.success)
            .str("authMethod", render(&USAGE_AUTH_METHODS, method, ctx.include_unknown))
            .str("failureReason", e.failure_reason.unwrap_or(""))
            .str("eventDateTime", &iso_utc(e.at, e.at.nanosecond() != 0));
        if count > 0 {
            rows.push(',');
        }
        obj.write(&mut rows, q.select.as_deref());
        count += 1;
    }
    let context = match flavor {
        // The documentation's context, odd path and type name included (Microsoft Graph, "List
        // userCredentialUsageDetails"
        // (https://learn.microsoft.com/graph/api/reportroot-list-usercredentialusagedetails?view=graph-rest-beta)).
        Flavor::Legacy => {
            format!(
                "{}/reports/$metadata#Collection(microsoft.graph.getUserCredentialUsageDetails)",
                ctx.service_root()
            )
        }
        Flavor::Summary => format!(
            "{}/$metadata#reports/authenticationMethods/userEventsSummary{}",
            ctx.service_root(),
            q.select_suffix()
        ),
    };
    let link = next.map(|c| q.next_link(ctx.base, ctx.raw_path, &c));
    reports::answer(ctx, collection::page(&context, link.as_deref(), &rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;

    fn ev(secs: i64) -> SimEvent {
        SimEvent {
            at: OffsetDateTime::from_unix_timestamp(secs).unwrap(),
            user: 0,
            kind: EventKind::Registration,
            method: "email",
            success: true,
            failure_reason: None,
            multi_factor: false,
        }
    }

    #[test]
    fn cursors_survive_appends_and_pruning() {
        let mut log: Vec<SimEvent> = [10, 20, 20, 20, 30].into_iter().map(ev).collect();
        // Newest first: 4 (30), 3, 2, 1 (the 20s), 0 (10). Resume at index 2.
        let c = cursor_of(&log, 2);
        assert_eq!(resume(&log, &c), Some(3));
        log.push(ev(40));
        log.remove(0);
        // Same event (the second 20 from the end of its group) is now at index 1.
        assert_eq!(resume(&log, &c), Some(2));
        // Its whole group pruned: resume below it.
        log.retain(|e| e.at.unix_timestamp() != 20);
        assert_eq!(resume(&log, &c), Some(0));
        assert_eq!(resume(&log, "x"), None);
        assert_eq!(resume(&log, "1.x"), None);
    }
}
