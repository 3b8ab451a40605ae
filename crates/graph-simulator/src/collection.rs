//! Query options, paging and JSON writing shared by the beta report collections (legacy `reportRoot` and
//! authentication-methods activity reports) and by `directoryRoles`: `$filter` (through [`odata_filter`]), `$top`,
//! `$select` and `$skiptoken`. Each route says which options it documents; undocumented ones are
//! refused with 400 (like `$skip`, which the CSDL of every report marks unsupported), so a client
//! relying on something Graph would reject finds out here.
//!
//! Skiptokens have the `<64 hex>_<position>` shape of the one real sample (a real `@odata.nextLink`; Microsoft Graph,
//! "Paging Microsoft Graph data in your app" (<https://learn.microsoft.com/graph/paging>)); the hex binds them to the
//! tenant, route and filter, and the position's meaning belongs to the route.

use super::odata_filter::{self, Expr, Schema};
use super::query::{self, split_query};
use super::rows::{ApiVersion, write_str};

/// Which options a route accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caps {
    pub(crate) filter: bool,
    pub(crate) top: bool,
    pub(crate) select: bool,
    /// The route pages (accepts `$skiptoken`).
    pub(crate) paged: bool,
    /// The route takes `$count=true|false` (directory collections, with `ConsistencyLevel: eventual`).
    pub(crate) count: bool,
    pub(crate) default_top: usize,
    pub(crate) max_top: usize,
}

impl Caps {
    /// A small function result or collection without documented options.
    pub(crate) const NONE: Caps = Caps {
        filter: false,
        top: false,
        select: false,
        paged: false,
        count: false,
        default_top: usize::MAX,
        max_top: usize::MAX,
    };
}

/// The validated options of one request.
#[derive(Debug)]
pub(crate) struct CollectionQuery {
    pub(crate) top: usize,
    pub(crate) filter: Option<Expr>,
    /// Canonical names of the selected properties (`None` = all).
    pub(crate) select: Option<Vec<&'static str>>,
    /// The route-specific position of a `$skiptoken`, already checked against the fingerprint.
    pub(crate) cursor: Option<String>,
    /// `$count=true` was asked for (only where [`Caps::count`]).
    pub(crate) count: bool,
    fingerprint: String,
    /// Raw `key=value` pairs to repeat in `@odata.nextLink` (all but `$skiptoken`).
    passthrough: Vec<String>,
}

/// Parse the raw query string. `scope` names tenant and route for the skiptoken fingerprint;
/// `selectable` lists the properties `$select` may name.
pub(crate) fn parse(
    raw: Option<&str>,
    schema: &Schema,
    selectable: &[&'static str],
    caps: Caps,
    scope: &str,
    version: ApiVersion,
) -> Result<CollectionQuery, String> {
    let mut seen: Vec<String> = Vec::new();
    let mut q = CollectionQuery {
        top: caps.default_top,
        filter: None,
        select: None,
        cursor: None,
        count: false,
        fingerprint: String::new(),
        passthrough: Vec::new(),
    };
    let mut filter_raw = String::new();
    let mut token = None;
    for p in split_query(raw.unwrap_or("")) {
        let key = p.key.trim().to_ascii_lowercase();
        if key != "$skiptoken" {
            q.passthrough.push(p.raw.to_owned());
        }
        if !key.starts_with('$') {
            continue; // custom options are ignored, as OData prescribes
        }
        if seen.contains(&key) {
            return Err(format!(
                "Query option '{}' was specified more than once, but it must be specified at most once.",
                p.key.trim()
            ));
        }
        seen.push(key.clone());
        match key.as_str() {
            "$filter" if caps.filter => {
                q.filter = Some(odata_filter::parse(&p.value, schema)?);
                filter_raw = p.value.trim().to_owned();
            }
            "$top" if caps.top => q.top = parse_top(&p.value, caps.max_top)?,
            "$select" if caps.select => q.select = parse_select(&p.value, selectable, schema)?,
            "$skiptoken" if caps.paged => token = Some(p.value.clone()),
            "$count" if caps.count => {
                q.count = match p.value.trim() {
                    v if v.eq_ignore_ascii_case("true") => true,
                    v if v.eq_ignore_ascii_case("false") => false,
                    v => {
                        return Err(format!(
                            "Invalid value '{v}' for $count query option found. Valid values are 'true' and 'false'."
                        ));
                    }
                }
            }
            "$skip" => {
                return Err("The query specified in the URI is not valid. Query option 'Skip' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.".into());
            }
            other => {
                let shown: String = other.chars().take(40).collect();
                return Err(format!("Query option '{shown}' is not supported for this resource."));
            }
        }
    }
    q.fingerprint = query::fingerprint(scope, version, &filter_raw, "");
    if let Some(t) = token {
        q.cursor = Some(check_token(&t, &q.fingerprint)?);
    }
    Ok(q)
}

fn parse_top(v: &str, max: usize) -> Result<usize, String> {
    let n: u64 = v.trim().parse().map_err(|_| {
        format!("Invalid value '{v}' for $top query option found. The $top query option requires a non-negative integer value.")
    })?;
    if n > max as u64 {
        return Err(format!(
            "The limit of '{max}' for Top query has been exceeded. The value from the incoming request is '{n}'."
        ));
    }
    Ok(n as usize)
}

fn parse_select(v: &str, selectable: &[&'static str], schema: &Schema) -> Result<Option<Vec<&'static str>>, String> {
    let names: Vec<&str> = v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if names.is_empty() || names.contains(&"*") {
        return Ok(None);
    }
    let mut out: Vec<&'static str> = Vec::new();
    for n in names {
        let canon = selectable
            .iter()
            .find(|s| s.eq_ignore_ascii_case(n))
            .ok_or_else(|| format!("Could not find a property named '{n}' on type '{}'.", schema.type_name))?;
        if !out.contains(canon) {
            out.push(canon);
        }
    }
    Ok(Some(out))
}

/// Check `<fingerprint>_<position>` and return the position text (digits, `.` and `-` only).
fn check_token(token: &str, fingerprint: &str) -> Result<String, String> {
    let bad =
        || "The $skiptoken is invalid or does not belong to this query. Start again without $skiptoken.".to_owned();
    let (hash, pos) = token.trim().split_once('_').ok_or_else(bad)?;
    let ok = hash.len() == 64
        && hash.eq_ignore_ascii_case(fingerprint)
        && !pos.is_empty()
        && pos.len() <= 48
        && pos.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
    if ok { Ok(pos.to_owned()) } else { Err(bad()) }
}

impl CollectionQuery {
    /// The nextLink resuming at route-specific `position`.
    pub(crate) fn next_link(&self, base: &str, raw_path: &str, position: &str) -> String {
        let mut url = format!("{base}{raw_path}?");
        for p in &self.passthrough {
            url.push_str(p);
            url.push('&');
        }
        url.push_str("$skiptoken=");
        url.push_str(&self.fingerprint);
        url.push('_');
        url.push_str(position);
        url
    }

    /// `(a,b)` to append to an entity-set `@odata.context` when `$select` is used.
    pub(crate) fn select_suffix(&self) -> String {
        match &self.select {
            Some(names) => format!("({})", names.join(",")),
            None => String::new(),
        }
    }

    /// The cursor as a plain number (for table positions); a malformed one is a 400 message.
    pub(crate) fn cursor_number(&self) -> Result<Option<usize>, String> {
        match &self.cursor {
            None => Ok(None),
            Some(c) => c.parse::<u64>().ok().map(|n| Some(usize::try_from(n).unwrap_or(usize::MAX))).ok_or_else(|| {
                "The $skiptoken is invalid or does not belong to this query. Start again without $skiptoken.".to_owned()
            }),
        }
    }
}

/// One JSON object under construction: `(name, already-encoded JSON value)` in output order.
#[derive(Debug, Default)]
pub(crate) struct Obj(Vec<(&'static str, String)>);

impl Obj {
    pub(crate) fn new() -> Self {
        Obj(Vec::with_capacity(10))
    }

    pub(crate) fn str(mut self, name: &'static str, v: &str) -> Self {
        let mut b = Vec::with_capacity(v.len() + 2);
        write_str(&mut b, v);
        self.0.push((name, String::from_utf8(b).unwrap_or_default()));
        self
    }

    pub(crate) fn opt_str(self, name: &'static str, v: Option<&str>) -> Self {
        match v {
            Some(v) => self.str(name, v),
            None => self.raw(name, "null".into()),
        }
    }

    pub(crate) fn num(self, name: &'static str, v: impl std::fmt::Display) -> Self {
        self.raw(name, v.to_string())
    }

    pub(crate) fn bool(self, name: &'static str, v: bool) -> Self {
        self.raw(name, v.to_string())
    }

    pub(crate) fn list(self, name: &'static str, items: &[&str]) -> Self {
        let mut b = vec![b'['];
        for (i, s) in items.iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            write_str(&mut b, s);
        }
        b.push(b']');
        self.raw(name, String::from_utf8(b).unwrap_or_default())
    }

    pub(crate) fn raw(mut self, name: &'static str, json: String) -> Self {
        self.0.push((name, json));
        self
    }

    /// Append the properties of `other` after this object's.
    pub(crate) fn merge(mut self, other: Obj) -> Self {
        self.0.extend(other.0);
        self
    }

    /// Append the object to `out`, keeping `@odata.*` annotations, `id` and the selected names.
    pub(crate) fn write(&self, out: &mut String, select: Option<&[&'static str]>) {
        out.push('{');
        let mut first = true;
        for (k, v) in &self.0 {
            let keep = select.is_none_or(|s| k.starts_with('@') || *k == "id" || s.iter().any(|n| n == k));
            if !keep {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            out.push('"');
            out.push_str(k);
            out.push_str("\":");
            out.push_str(v);
        }
        out.push('}');
    }

    pub(crate) fn into_string(self) -> String {
        let mut s = String::new();
        self.write(&mut s, None);
        s
    }
}

/// `{"@odata.context":…,["@odata.nextLink":…,]"value":[rows]}`; `rows` is comma-separated objects.
pub(crate) fn page(context: &str, next_link: Option<&str>, rows: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(rows.len() + 256);
    body.extend_from_slice(b"{\"@odata.context\":");
    write_str(&mut body, context);
    if let Some(link) = next_link {
        body.extend_from_slice(b",\"@odata.nextLink\":");
        write_str(&mut body, link);
    }
    body.extend_from_slice(b",\"value\":[");
    body.extend_from_slice(rows.as_bytes());
    body.extend_from_slice(b"]}");
    body
}

/// A page of an in-memory result (the aggregate reports): `$top` rows from the skiptoken's offset,
/// with a nextLink while rows remain. `Err` is a 400 message (a malformed skiptoken).
pub(crate) fn rows_page(
    q: &CollectionQuery,
    rows: &[Obj],
    context: &str,
    base: &str,
    raw_path: &str,
) -> Result<Vec<u8>, String> {
    let start = q.cursor_number()?.unwrap_or(0).min(rows.len());
    let end = start.saturating_add(q.top).min(rows.len());
    let mut s = String::new();
    for (i, r) in rows[start..end].iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        r.write(&mut s, q.select.as_deref());
    }
    let next = (end < rows.len() && q.top > 0).then(|| q.next_link(base, raw_path, &end.to_string()));
    Ok(page(context, next.as_deref(), &s))
}

/// A stable GUID-shaped id from two hashes (rows of aggregate reports need ids; Graph's look random).
pub(crate) fn guid(a: u64, b: u64) -> String {
    let bytes = ((u128::from(a) << 64) | u128::from(b)).to_be_bytes();
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::odata_filter::{EQ, Field, Ty};

    const SCHEMA: Schema =
        Schema { type_name: "microsoft.graph.thing", fields: &[Field { name: "feature", ty: Ty::Str, ops: EQ }] };
    const CAPS: Caps =
        Caps { filter: true, top: true, select: true, paged: true, count: false, default_top: 1000, max_top: 1000 };

    fn q(s: &str) -> Result<CollectionQuery, String> {
        parse(Some(s), &SCHEMA, &["feature", "count"], CAPS, "t/route", ApiVersion::Beta)
    }

    #[test]
    fn options_and_tokens() {
        assert_eq!(q("").unwrap().top, 1000);
        assert_eq!(q("$top=5&foo=1").unwrap().top, 5);
        assert!(q("$top=1001").is_err());
        assert!(q("$skip=1").is_err());
        assert!(q("$orderby=feature").is_err());
        assert!(q("$top=1&$TOP=2").is_err());
        assert_eq!(q("$select=COUNT").unwrap().select, Some(vec!["count"]));
        assert!(q("$select=nope").is_err());
        assert!(q("$filter=feature eq 'x'").unwrap().filter.is_some());
        let base = q("$filter=feature%20eq%20'x'&$top=2").unwrap();
        let link = base.next_link("http://h", "/beta/r", "1700000000-3");
        assert!(link.starts_with("http://h/beta/r?$filter=feature%20eq%20'x'&$top=2&$skiptoken="), "{link}");
        let token = link.rsplit("$skiptoken=").next().unwrap();
        let again = q(&format!("$filter=feature%20eq%20'x'&$skiptoken={token}")).unwrap();
        assert_eq!(again.cursor.as_deref(), Some("1700000000-3"));
        assert!(q(&format!("$skiptoken={token}")).is_err(), "bound to the filter");
        assert!(q("$skiptoken=abc_1").is_err());
        let none = parse(Some("$filter=x"), &SCHEMA, &[], Caps::NONE, "s", ApiVersion::Beta);
        assert!(none.is_err());
    }

    #[test]
    fn objects_and_select() {
        let o =
            Obj::new().str("@odata.type", "#x").str("id", "1").num("count", 3).str("feature", "a\"b").bool("ok", true);
        let mut s = String::new();
        o.write(&mut s, Some(&["count"]));
        assert_eq!(s, r##"{"@odata.type":"#x","id":"1","count":3}"##);
        let v: serde_json::Value = serde_json::from_str(&o.into_string()).unwrap();
        assert_eq!(v["feature"], "a\"b");
        assert_eq!(guid(1, 2), guid(1, 2));
        assert_ne!(guid(1, 2), guid(2, 1));
    }
}
