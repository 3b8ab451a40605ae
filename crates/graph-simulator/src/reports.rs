//! `userRegistrationDetails`: the paged list and the single-entity GET.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::Response;

use super::conn::ConnTap;
use super::envelope::{self, ReqMeta};
use super::faults::{Fault, Stage, lock};
use super::population::{Population, SimUser};
use super::query::{ListQuery, Order, OrderKey, make_skiptoken};
use super::rows::{ApiVersion, Prop, has_future_property, write_fields, write_row};
use super::state::Shared;

/// What the list and get handlers need to know about the request.
pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) meta: &'a ReqMeta,
    pub(crate) tap: &'a ConnTap,
    pub(crate) version: ApiVersion,
    /// `http://host:port` as the client addressed the simulator.
    pub(crate) base: &'a str,
    pub(crate) raw_path: &'a str,
    pub(crate) raw_query: Option<&'a str>,
    /// The tenant the token belongs to.
    pub(crate) tenant_id: &'a str,
    /// `Prefer: include-unknown-enum-members` was sent.
    pub(crate) include_unknown: bool,
}

impl Ctx<'_> {
    /// 400 `BadRequest` with `message`.
    pub(crate) fn bad_request(&self, message: &str) -> Response {
        envelope::error(self.meta, StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// `{base}/{version}` for `@odata.context` URLs.
    pub(crate) fn service_root(&self) -> String {
        format!("{}/{}", self.base, self.version.as_str())
    }
}

/// The body a `MalformedJson` fault serves (the example from the brief: a broken object).
const MALFORMED: &str = r#"{"value": [ {"id": 1,,}"#;

/// Apply an answer-stage fault (if any) and build the 200.
fn finish(ctx: &Ctx<'_>, fault: Option<Fault>, body: Vec<u8>) -> Response {
    match fault {
        Some(Fault::MalformedJson) => {
            let mut b = format!(
                r#"{{"@odata.context":"{}/{}/$metadata#reports/authenticationMethods/userRegistrationDetails","#,
                ctx.base,
                ctx.version.as_str()
            );
            b.push_str(&MALFORMED[1..]);
            envelope::ok_json(ctx.meta, b.into_bytes())
        }
        Some(Fault::TruncatedBody) => {
            ctx.tap.truncate_body_after(body.len() / 2);
            envelope::ok_json(ctx.meta, body)
        }
        _ => envelope::ok_json(ctx.meta, body),
    }
}

/// Sorted table orders for `$orderby`, so the pages of one listing sort once. Keyed by the
/// population snapshot (kept alive by the entry) and the order; a handful of entries.
#[derive(Default)]
pub(crate) struct OrderCache(Mutex<Vec<CachedOrder>>);

/// (snapshot, order, table positions of the listed users in that order).
type CachedOrder = (Arc<Population>, Order, Arc<Vec<u32>>);

const ORDER_CACHE_ENTRIES: usize = 4;

impl OrderCache {
    fn get(&self, pop: &Arc<Population>, order: Order) -> Arc<Vec<u32>> {
        let mut entries = lock(&self.0);
        if let Some((_, _, idx)) = entries.iter().find(|(p, o, _)| Arc::ptr_eq(p, pop) && *o == order) {
            return idx.clone();
        }
        let key = |u: &SimUser| match order.key {
            OrderKey::UserPrincipalName => u.user_principal_name.to_lowercase(),
            OrderKey::UserDisplayName => u.user_display_name.to_lowercase(),
        };
        let mut keyed: Vec<(String, u32)> =
            pop.users.iter().enumerate().filter(|(_, u)| u.enabled).map(|(i, u)| (key(u), i as u32)).collect();
        if order.desc {
            keyed.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        } else {
            keyed.sort_unstable();
        }
        let idx = Arc::new(keyed.into_iter().map(|(_, i)| i).collect::<Vec<_>>());
        if entries.len() >= ORDER_CACHE_ENTRIES {
            entries.remove(0);
        }
        entries.push((pop.clone(), order, idx.clone()));
        idx
    }
}

/// One page of the list. Rows are written straight from the shared snapshot; the scan starts at
/// the skiptoken's table position and looks ahead to the next matching row, so a nextLink is
/// present exactly when more rows remain, and following it never rescans.
pub(crate) fn list(ctx: &Ctx<'_>, pop: Arc<Population>, q: &ListQuery) -> Response {
    let fault = ctx.shared.faults.take(Stage::Answer { list_page: true });
    let props = q.select.clone().unwrap_or_else(|| Prop::all(ctx.version));
    let with_extra = q.select.is_none();
    let order = q.order.map(|o| ctx.shared.order_cache.get(&pop, o));
    let len = order.as_ref().map_or(pop.users.len(), |o| o.len());
    let user_at = |pos: usize| -> &SimUser {
        match &order {
            Some(o) => &pop.users[o[pos] as usize],
            None => &pop.users[pos],
        }
    };

    let mut rows: Vec<u8> = Vec::with_capacity(q.top.min(1000) * 700);
    let mut count = 0usize;
    let mut next: Option<usize> = None;
    if fault == Some(Fault::EmptyPage) {
        next = Some(q.start);
    } else if q.top > 0 {
        let mut pos = q.start;
        while pos < len {
            let u = user_at(pos);
            if u.enabled && q.filter.as_ref().is_none_or(|f| f.matches(u)) {
                if count == q.top {
                    next = Some(pos);
                    break;
                }
                if count > 0 {
                    rows.push(b',');
                }
                write_row(&mut rows, u, &props, with_extra && has_future_property(u));
                count += 1;
            }
            pos += 1;
        }
    }

    let mut next_link = next.map(|offset| {
        let mut url = format!("{}{}?", ctx.base, ctx.raw_path);
        for p in &q.passthrough {
            url.push_str(p);
            url.push('&');
        }
        url.push_str("$skiptoken=");
        url.push_str(&make_skiptoken(&q.fingerprint, offset));
        url
    });
    if fault == Some(Fault::RepeatNextLink) {
        let mut url = format!("{}{}", ctx.base, ctx.raw_path);
        if let Some(q) = ctx.raw_query {
            url.push('?');
            url.push_str(q);
        }
        next_link = Some(url);
    }

    let mut context = format!(
        "{}/{}/$metadata#reports/authenticationMethods/userRegistrationDetails",
        ctx.base,
        ctx.version.as_str()
    );
    if let Some(sel) = &q.select {
        let names: Vec<&str> = sel.iter().map(|p| p.name()).collect();
        context.push('(');
        context.push_str(&names.join(","));
        context.push(')');
    }
    let mut body = Vec::with_capacity(rows.len() + 512);
    body.extend_from_slice(b"{\"@odata.context\":");
    super::rows::write_str(&mut body, &context);
    if let Some(link) = &next_link {
        body.extend_from_slice(b",\"@odata.nextLink\":");
        super::rows::write_str(&mut body, link);
    }
    body.extend_from_slice(b",\"value\":[");
    body.extend_from_slice(&rows);
    body.extend_from_slice(b"]}");
    ctx.shared.stats.page(count);
    finish(ctx, fault, body)
}

/// The single-entity GET: the entity at top level with an `$entity` context (standard OData; the
/// doc example's `value` wrapper is a doc anomaly of Microsoft Graph, "Get userRegistrationDetails"
/// (<https://learn.microsoft.com/graph/api/userregistrationdetails-get>)). Disabled users have no record, like users
/// absent from the report.
pub(crate) fn get(ctx: &Ctx<'_>, pop: &Population, id: &str) -> Response {
    let Some(u) = pop.users.iter().find(|u| u.enabled && u.id.eq_ignore_ascii_case(id)) else {
        let shown: String = id.chars().take(200).collect();
        // The message is the one observed (in a real answer; the shape is that of Microsoft Graph, "Microsoft Graph
        // error responses and resource types" (https://learn.microsoft.com/graph/errors)); the code was not captured
        // and is UNCERTAIN: `Request_ResourceNotFound` is what directory 404s use.
        return envelope::error(
            ctx.meta,
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!("No record found for key: {shown}"),
        );
    };
    let fault = ctx.shared.faults.take(Stage::Answer { list_page: false });
    let context = format!(
        "{}/{}/$metadata#reports/authenticationMethods/userRegistrationDetails/$entity",
        ctx.base,
        ctx.version.as_str()
    );
    let mut body = Vec::with_capacity(1024);
    body.extend_from_slice(b"{\"@odata.context\":");
    super::rows::write_str(&mut body, &context);
    body.push(b',');
    write_fields(&mut body, u, &Prop::all(ctx.version), has_future_property(u));
    body.push(b'}');
    finish(ctx, fault, body)
}

/// A successful non-list answer (a summary, an activity report, a directory object), with
/// answer-stage faults applied.
pub(crate) fn answer(ctx: &Ctx<'_>, body: Vec<u8>) -> Response {
    let fault = ctx.shared.faults.take(Stage::Answer { list_page: false });
    finish(ctx, fault, body)
}
