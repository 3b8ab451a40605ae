//! URL handling for the list route: percent-decoding, OData system query options (`$top`,
//! `$select`, `$filter`, `$orderby`, `$skiptoken`) and the opaque `$skiptoken` format.
//!
//! The skiptoken imitates the one real sample (`<64 hex>_<offset>`, from a real `@odata.nextLink`; Microsoft Graph,
//! "Paging Microsoft Graph data in your app" (<https://learn.microsoft.com/graph/paging>)). The hex is a fingerprint of
//! everything that decides which rows come in which order (tenant, version, `$filter`, `$orderby`), so a token pasted
//! onto another query is refused, while `$top` and `$select` may change between pages. The offset is a position in the
//! table, not a row count, so each page resumes in O(page) without rescanning.

use super::odata_filter::{Expr, FilterError};
use super::registration_filter;
use super::rng::hash_str;
use super::rows::{ApiVersion, Prop};

/// Default and maximum page size (observed 1000 in real nextLinks; Microsoft Graph, "List userRegistrationDetails"
/// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-userregistrationdetails>) documents none).
pub(crate) const MAX_TOP: usize = 1000;

/// Decode `%XX` escapes (and `+` as space in query strings). Invalid escapes stay as they are;
/// invalid UTF-8 becomes U+FFFD. Never fails, so hostile URLs cannot panic the simulator.
pub(crate) fn percent_decode(s: &str, plus_as_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// One `key=value` pair of a query string, with its raw text kept for nextLinks.
#[derive(Debug, Clone)]
pub(crate) struct QueryPair<'a> {
    pub(crate) raw: &'a str,
    pub(crate) key: String,
    pub(crate) value: String,
}

/// Split a raw query string (without `?`) into decoded pairs; empty segments are skipped.
pub(crate) fn split_query(q: &str) -> Vec<QueryPair<'_>> {
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|raw| {
            let (k, v) = raw.split_once('=').unwrap_or((raw, ""));
            QueryPair { raw, key: percent_decode(k, true), value: percent_decode(v, true) }
        })
        .collect()
}

/// `$orderby` keys the resource page documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum OrderKey {
    UserPrincipalName,
    UserDisplayName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Order {
    pub(crate) key: OrderKey,
    pub(crate) desc: bool,
}

/// The validated options of one list request.
#[derive(Debug)]
pub(crate) struct ListQuery {
    pub(crate) top: usize,
    /// `None` = all properties (and the occasional `futureProperty`).
    pub(crate) select: Option<Vec<Prop>>,
    pub(crate) filter: Option<Expr>,
    pub(crate) order: Option<Order>,
    /// Table position to resume from (0 without `$skiptoken`).
    pub(crate) start: usize,
    pub(crate) fingerprint: String,
    /// Raw pairs to repeat in `@odata.nextLink` (everything except `$skiptoken`).
    pub(crate) passthrough: Vec<String>,
}

/// Why the query was refused; becomes a 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum QueryError {
    Bad(String),
    /// The `systemPreferredAuthenticationMethods/any(...)` bug (see `registration_filter`).
    NonEntityType,
}

impl From<FilterError> for QueryError {
    fn from(e: FilterError) -> Self {
        match e {
            FilterError::Invalid(m) => QueryError::Bad(m),
            FilterError::NonEntityType => QueryError::NonEntityType,
        }
    }
}

/// Parse and validate the query string of a list request.
pub(crate) fn parse_list_query(
    query: Option<&str>,
    version: ApiVersion,
    tenant_id: &str,
) -> Result<ListQuery, QueryError> {
    let pairs = split_query(query.unwrap_or(""));
    let mut seen: Vec<String> = Vec::new();
    let mut top = None;
    let mut select = None;
    let mut filter_raw: Option<String> = None;
    let mut order_raw: Option<String> = None;
    let mut skiptoken = None;
    let mut passthrough = Vec::new();
    for p in &pairs {
        let key = p.key.trim().to_ascii_lowercase();
        if key != "$skiptoken" {
            passthrough.push(p.raw.to_owned());
        }
        if !key.starts_with('$') {
            continue; // custom query options are ignored, as OData prescribes
        }
        if seen.contains(&key) {
            return Err(QueryError::Bad(format!(
                "Query option '{}' was specified more than once, but it must be specified at most once.",
                p.key.trim()
            )));
        }
        seen.push(key.clone());
        match key.as_str() {
            "$top" => top = Some(parse_top(&p.value)?),
            "$select" => select = parse_select(&p.value, version)?,
            "$filter" => filter_raw = Some(p.value.clone()),
            "$orderby" => order_raw = Some(p.value.clone()),
            "$skiptoken" => skiptoken = Some(p.value.clone()),
            "$skip" => {
                return Err(QueryError::Bad(
                    "The query specified in the URI is not valid. Query option 'Skip' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.".into(),
                ));
            }
            other => {
                return Err(QueryError::Bad(format!("Query option '{other}' is not supported for this resource.")));
            }
        }
    }
    let filter = match filter_raw.as_deref() {
        Some(f) => Some(registration_filter::parse(f, version)?),
        None => None,
    };
    let order = match order_raw.as_deref() {
        Some(o) => Some(parse_orderby(o)?),
        None => None,
    };
    let fingerprint =
        fingerprint(tenant_id, version, filter_raw.as_deref().unwrap_or(""), order_raw.as_deref().unwrap_or(""));
    let start = match skiptoken {
        Some(t) => parse_skiptoken(&t, &fingerprint)?,
        None => 0,
    };
    Ok(ListQuery { top: top.unwrap_or(MAX_TOP), select, filter, order, start, fingerprint, passthrough })
}

fn parse_top(v: &str) -> Result<usize, QueryError> {
    let n: u64 = v.trim().parse().map_err(|_| {
        QueryError::Bad(format!(
            "Invalid value '{v}' for $top query option found. The $top query option requires a non-negative integer value."
        ))
    })?;
    if n > MAX_TOP as u64 {
        return Err(QueryError::Bad(format!(
            "The limit of '{MAX_TOP}' for Top query has been exceeded. The value from the incoming request is '{n}'."
        )));
    }
    Ok(n as usize)
}

fn parse_select(v: &str, version: ApiVersion) -> Result<Option<Vec<Prop>>, QueryError> {
    let names: Vec<&str> = v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if names.is_empty() || names.contains(&"*") {
        return Ok(None);
    }
    let mut props = vec![Prop::Id];
    for n in names {
        let p = Prop::from_name(n, version).ok_or_else(|| {
            QueryError::Bad(format!(
                "Could not find a property named '{n}' on type 'microsoft.graph.userRegistrationDetails'."
            ))
        })?;
        if !props.contains(&p) {
            props.push(p);
        }
    }
    props.sort();
    Ok(Some(props))
}

fn parse_orderby(v: &str) -> Result<Order, QueryError> {
    let mut parts = v.split_whitespace();
    let key = match parts.next().map(str::to_ascii_lowercase).as_deref() {
        Some("userprincipalname") => OrderKey::UserPrincipalName,
        Some("userdisplayname") => OrderKey::UserDisplayName,
        _ => {
            return Err(QueryError::Bad(format!(
                "OrderBy is only supported on userPrincipalName and userDisplayName, not '{v}'."
            )));
        }
    };
    let desc = match parts.next().map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => {
            return Err(QueryError::Bad(format!("Invalid $orderby expression '{v}'.")));
        }
    };
    if parts.next().is_some() {
        return Err(QueryError::Bad(format!("Invalid $orderby expression '{v}'.")));
    }
    Ok(Order { key, desc })
}

/// 64 hex characters identifying (tenant, version, filter, orderby).
pub(crate) fn fingerprint(tenant_id: &str, version: ApiVersion, filter: &str, orderby: &str) -> String {
    let canon = format!(
        "{}\n{}\n{}\n{}",
        tenant_id.to_ascii_lowercase(),
        version.as_str(),
        filter.trim(),
        orderby.trim().to_ascii_lowercase()
    );
    (0..4u64).map(|lane| format!("{:016x}", hash_str(&canon, lane.wrapping_mul(0x9E37_79B9_7F4A_7C15)))).collect()
}

/// `<fingerprint>_<offset>`.
pub(crate) fn make_skiptoken(fingerprint: &str, offset: usize) -> String {
    format!("{fingerprint}_{offset}")
}

fn parse_skiptoken(token: &str, fingerprint: &str) -> Result<usize, QueryError> {
    let bad = || {
        QueryError::Bad(
            "The $skiptoken is invalid or does not belong to this query. Start again without $skiptoken.".into(),
        )
    };
    let (hash, offset) = token.trim().split_once('_').ok_or_else(bad)?;
    if hash.len() != 64
        || !hash.bytes().all(|b| b.is_ascii_hexdigit())
        || !hash.eq_ignore_ascii_case(fingerprint)
        || offset.is_empty()
        || offset.len() > 20
        || !offset.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    Ok(offset.parse::<u64>().ok().and_then(|o| usize::try_from(o).ok()).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Result<ListQuery, QueryError> {
        parse_list_query(Some(s), ApiVersion::V1, "tenant-a")
    }

    #[test]
    fn decoding_never_panics() {
        assert_eq!(percent_decode("a%20b+c", true), "a b c");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("%27all%27", false), "'all'");
        assert_eq!(percent_decode("%", true), "%");
        assert_eq!(percent_decode("%4", true), "%4");
        assert_eq!(percent_decode("%zz%C3%A9", true), "%zzé");
        assert_eq!(percent_decode("%FF", true), "\u{FFFD}");
    }

    #[test]
    fn top_select_and_unknown_options() {
        assert_eq!(q("").unwrap().top, 1000);
        assert_eq!(q("$top=5").unwrap().top, 5);
        assert_eq!(q("%24top=7").unwrap().top, 7);
        assert_eq!(q("$TOP=0").unwrap().top, 0);
        assert!(q("$top=1001").is_err());
        assert!(q("$top=99999999999999999999999").is_err());
        assert!(q("$top=-1").is_err());
        assert!(q("$top=abc").is_err());
        assert!(q("$top=1&$top=2").is_err());
        assert!(q("$skip=10").is_err());
        assert!(q("$expand=x").is_err());
        assert!(q("foo=bar").is_ok());
        let s = q("$select=userPrincipalName,ISADMIN").unwrap().select.unwrap();
        assert_eq!(s, vec![Prop::Id, Prop::UserPrincipalName, Prop::IsAdmin]);
        assert!(q("$select=nope").is_err());
        assert!(q("$select=defaultMfaMethod").is_err());
        assert!(parse_list_query(Some("$select=defaultMfaMethod"), ApiVersion::Beta, "t").is_ok());
        assert_eq!(
            q("$filter=systemPreferredAuthenticationMethods/any(m:m%20eq%20'oath')").unwrap_err(),
            QueryError::NonEntityType
        );
        assert!(q("$orderby=userDisplayName desc").unwrap().order.unwrap().desc);
        assert!(q("$orderby=isAdmin").is_err());
    }

    #[test]
    fn skiptoken_round_trip_and_binding() {
        let base = q("$filter=isAdmin%20eq%20true&$top=10").unwrap();
        assert_eq!(base.fingerprint.len(), 64);
        let tok = make_skiptoken(&base.fingerprint, 1234);
        let next = q(&format!("$filter=isAdmin%20eq%20true&$top=10&$skiptoken={tok}")).unwrap();
        assert_eq!(next.start, 1234);
        assert_eq!(next.passthrough, vec!["$filter=isAdmin%20eq%20true", "$top=10"]);
        // $top and $select may change; the filter may not.
        assert!(q(&format!("$filter=isAdmin%20eq%20true&$top=3&$skiptoken={tok}")).is_ok());
        assert!(q(&format!("$filter=isAdmin%20eq%20false&$skiptoken={tok}")).is_err());
        assert!(q(&format!("$skiptoken={tok}")).is_err());
        // Another tenant or version rejects it too.
        assert!(
            parse_list_query(
                Some(&format!("$filter=isAdmin%20eq%20true&$skiptoken={tok}")),
                ApiVersion::V1,
                "tenant-b"
            )
            .is_err()
        );
        for bad in ["", "_", "abc_1", &format!("{}_", base.fingerprint), &format!("{}_x", base.fingerprint)] {
            assert!(q(&format!("$filter=isAdmin%20eq%20true&$skiptoken={bad}")).is_err(), "{bad}");
        }
        let huge = format!("{}_99999999999999999999", base.fingerprint);
        assert_eq!(q(&format!("$filter=isAdmin%20eq%20true&$skiptoken={huge}")).unwrap().start, usize::MAX);
    }
}
