//! `$filter` for every simulated collection: the beta report collections (the legacy `reportRoot` reports and the
//! authentication-methods activity reports of Microsoft Graph, "Authentication methods usage insights overview"
//! (<https://learn.microsoft.com/graph/api/resources/authenticationmethods-usage-insights-overview>)), `directoryRoles`
//! and (in [`Dialect::Registration`], see `registration_filter`) userRegistrationDetails. One small OData parser (in
//! `parse`) driven by a per-entity [`Schema`] that says which properties exist, their types and which operators the
//! documentation allows on each. Anything else is refused with the 400 a client would get, so tests notice clients that
//! build filters Graph would reject.
//!
//! Supported: `eq`/`ne` (strings case-insensitively, like Graph's report filters), `gt`/`ge`/`lt`/
//! `le` on numbers and date-times, `startswith(prop,'x')`, `collection/any(x: x eq 'v')`, `and`,
//! `or`, `not`, parentheses, `null`, and typed enum literals such as
//! `microsoft.graph.usageAuthMethod'email'` (the form Microsoft Graph, "List userCredentialUsageDetails"
//! (<https://learn.microsoft.com/graph/api/reportroot-list-usercredentialusagedetails?view=graph-rest-beta>) documents).
//! Date-times are unquoted OData literals (`eventDateTime ge 2026-11-20T00:00:00Z`); a quoted one is a string and is
//! refused as an incompatible type, as OData does. This module holds the types and the evaluation.

use time::OffsetDateTime;

/// Longer filters are refused.
const MAX_LEN: usize = 4096;
/// Nesting limit, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// Operator sets allowed on a property.
pub(crate) const EQ: u8 = 1;
pub(crate) const NE: u8 = 2;
/// `gt`, `ge`, `lt`, `le`.
pub(crate) const ORD: u8 = 4;
pub(crate) const STARTS: u8 = 8;
/// `any(...)` over a string collection.
pub(crate) const ANY: u8 = 16;
/// `prop in ('a', 'b')` ([`Dialect::Registration`] only).
pub(crate) const IN: u8 = 32;
/// `all(...)` over a string collection, next to [`ANY`] ([`Dialect::Registration`] only).
pub(crate) const ALL: u8 = 64;
/// A collection whose `any`/`all` lambdas fail with Graph's UnknownError "Unable to find nonEntity
/// type name" ([`FilterError::NonEntityType`]; [`Dialect::Registration`] only).
pub(crate) const NON_ENTITY: u8 = 128;

/// How a collection words and orders its answers. Both dialects share the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// The beta report collections (legacy `reportRoot` and authentication-methods activity reports) and
    /// `directoryRoles`.
    Reports,
    /// userRegistrationDetails (Microsoft Graph, "List userRegistrationDetails"
    /// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-userregistrationdetails>), "Optional query
    /// parameters"): no number, date-time or typed literals (identifiers may contain `-` and `.`), `eq`/`ne` on every
    /// operand, `in`, `all()` and `any()` without a body, collections and operator-less properties (`ops == 0`) refused
    /// as soon as they are named, and its own refusal texts.
    Registration,
}

/// Why a filter was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FilterError {
    /// 400 `BadRequest` with this message.
    Invalid(String),
    /// A lambda over a [`NON_ENTITY`] collection.
    NonEntityType,
}

/// Property types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Str,
    /// An enum: its qualified type name and members (literals must be members).
    Enum(&'static str, &'static [&'static str]),
    Bool,
    Int,
    Time,
    /// A collection of strings (or of enum members, for `authMethods`).
    List,
}

impl Ty {
    fn edm(self) -> &'static str {
        match self {
            Ty::Str | Ty::List => "Edm.String",
            Ty::Enum(name, _) => name,
            Ty::Bool => "Edm.Boolean",
            Ty::Int => "Edm.Int64",
            Ty::Time => "Edm.DateTimeOffset",
        }
    }
}

/// One filterable property.
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) ty: Ty,
    pub(crate) ops: u8,
}

/// An entity type's filterable properties.
#[derive(Debug)]
pub(crate) struct Schema {
    /// `microsoft.graph.userEventsSummary`, for error messages.
    pub(crate) type_name: &'static str,
    pub(crate) fields: &'static [Field],
}

/// A property value of one record.
#[derive(Debug, Clone)]
pub(crate) enum Val<'a> {
    Str(Option<&'a str>),
    Bool(Option<bool>),
    Int(Option<i64>),
    Time(OffsetDateTime),
    List(Vec<&'a str>),
}

/// A row the filter can look at; `get` receives an index into the schema's fields.
pub(crate) trait Record {
    fn get(&self, field: usize) -> Val<'_>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn kind(self) -> &'static str {
        match self {
            Op::Eq => "Equal",
            Op::Ne => "NotEqual",
            Op::Gt => "GreaterThan",
            Op::Ge => "GreaterThanOrEqual",
            Op::Lt => "LessThan",
            Op::Le => "LessThanOrEqual",
        }
    }

    fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Op::Eq => ord == Equal,
            Op::Ne => ord != Equal,
            Op::Gt => ord == Greater,
            Op::Ge => ord != Less,
            Op::Lt => ord == Less,
            Op::Le => ord != Greater,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Time(OffsetDateTime),
}

/// The lambda variable, in place of a field index.
const VAR: usize = usize::MAX;

/// A parsed, validated filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp {
        field: usize,
        op: Op,
        lit: Lit,
    },
    StartsWith {
        field: usize,
        prefix: String,
    },
    /// `field in (values)`: equal to one of them.
    In {
        field: usize,
        values: Vec<Lit>,
    },
    /// `collection/any(x: body)`; without a body, "the collection is not empty".
    Any {
        field: usize,
        body: Option<Box<Expr>>,
    },
    All {
        field: usize,
        body: Box<Expr>,
    },
}

/// Case-insensitive equality, allocation-free for ASCII.
pub(crate) fn eq_ci(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() { a.eq_ignore_ascii_case(b) } else { a.to_lowercase() == b.to_lowercase() }
}

impl Expr {
    pub(crate) fn matches(&self, rec: &dyn Record) -> bool {
        self.eval(rec, None)
    }

    fn eval(&self, rec: &dyn Record, item: Option<&str>) -> bool {
        let value = |field: usize| if field == VAR { Val::Str(item) } else { rec.get(field) };
        match self {
            Expr::Or(a, b) => a.eval(rec, item) || b.eval(rec, item),
            Expr::And(a, b) => a.eval(rec, item) && b.eval(rec, item),
            Expr::Not(a) => !a.eval(rec, item),
            Expr::Cmp { field, op, lit } => compare(&value(*field), *op, lit),
            Expr::StartsWith { field, prefix } => match value(*field) {
                Val::Str(Some(s)) => s.to_lowercase().starts_with(&prefix.to_lowercase()),
                _ => false,
            },
            Expr::In { field, values } => {
                let v = value(*field);
                values.iter().any(|lit| compare(&v, Op::Eq, lit))
            }
            Expr::Any { field, body } => match (value(*field), body) {
                (Val::List(items), None) => !items.is_empty(),
                (Val::List(items), Some(body)) => items.iter().any(|i| body.eval(rec, Some(i))),
                _ => false,
            },
            Expr::All { field, body } => match value(*field) {
                Val::List(items) => items.iter().all(|i| body.eval(rec, Some(i))),
                _ => false,
            },
        }
    }

    /// A lower bound the expression puts on date-time `field` (`field ge|gt|eq t`, through `and`,
    /// and through `or` when both sides bound it), so a newest-first scan can stop early.
    pub(crate) fn min_time(&self, field: usize) -> Option<OffsetDateTime> {
        match self {
            Expr::Cmp { field: f, op: Op::Ge | Op::Gt | Op::Eq, lit: Lit::Time(t) } if *f == field => Some(*t),
            Expr::And(a, b) => match (a.min_time(field), b.min_time(field)) {
                (Some(x), Some(y)) => Some(x.max(y)),
                (x, y) => x.or(y),
            },
            Expr::Or(a, b) => Some(a.min_time(field)?.min(b.min_time(field)?)),
            _ => None,
        }
    }
}

fn compare(v: &Val<'_>, op: Op, lit: &Lit) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (v, lit) {
        (Val::Str(None), Lit::Null) | (Val::Bool(None), Lit::Null) | (Val::Int(None), Lit::Null) => {
            Some(Ordering::Equal)
        }
        (_, Lit::Null) => None,
        (Val::Str(Some(s)), Lit::Str(w)) => {
            if eq_ci(s, w) {
                Some(Ordering::Equal)
            } else {
                Some(s.to_lowercase().cmp(&w.to_lowercase()))
            }
        }
        (Val::Bool(Some(b)), Lit::Bool(w)) => Some(b.cmp(w)),
        (Val::Int(Some(i)), Lit::Int(w)) => Some(i.cmp(w)),
        (Val::Time(t), Lit::Time(w)) => Some(t.cmp(w)),
        _ => None,
    };
    match ord {
        Some(o) => op.holds(o),
        // Comparisons with null are false except `ne`, as in OData.
        None => op == Op::Ne,
    }
}

mod parse;

pub(crate) use parse::parse_in;

/// Parse and validate `input` against `schema` ([`Dialect::Reports`]); the error is the 400 message.
pub(crate) fn parse(input: &str, schema: &Schema) -> Result<Expr, String> {
    parse_in(input, schema, Dialect::Reports).map_err(|e| match e {
        FilterError::Invalid(m) => m,
        // Only Registration schemas mark NON_ENTITY collections.
        FilterError::NonEntityType => "Unable to find nonEntity type name".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::format_description::well_known::Rfc3339;

    const METHODS: &[&str] = &["email", "mobileSMS", "unknownFutureValue", "microsoftAuthenticatorPush"];
    const SCHEMA: Schema = Schema {
        type_name: "microsoft.graph.thing",
        fields: &[
            Field { name: "userPrincipalName", ty: Ty::Str, ops: EQ | STARTS },
            Field { name: "isSuccess", ty: Ty::Bool, ops: EQ },
            Field { name: "authMethod", ty: Ty::Enum("microsoft.graph.usageAuthMethod", METHODS), ops: EQ },
            Field { name: "count", ty: Ty::Int, ops: EQ | ORD },
            Field { name: "eventDateTime", ty: Ty::Time, ops: EQ | ORD },
            Field { name: "authMethods", ty: Ty::List, ops: ANY },
            Field { name: "failureReason", ty: Ty::Str, ops: EQ },
        ],
    };

    struct Row {
        upn: &'static str,
        ok: bool,
        method: &'static str,
        count: i64,
        at: OffsetDateTime,
        methods: Vec<&'static str>,
    }

    impl Record for Row {
        fn get(&self, field: usize) -> Val<'_> {
            match field {
                0 => Val::Str(Some(self.upn)),
                1 => Val::Bool(Some(self.ok)),
                2 => Val::Str(Some(self.method)),
                3 => Val::Int(Some(self.count)),
                4 => Val::Time(self.at),
                5 => Val::List(self.methods.clone()),
                _ => Val::Str(None),
            }
        }
    }

    fn row() -> Row {
        Row {
            upn: "Zoë@Contoso.com",
            ok: true,
            method: "microsoftAuthenticatorPush",
            count: 12,
            at: OffsetDateTime::parse("2026-11-20T10:00:00Z", &Rfc3339).unwrap(),
            methods: vec!["email", "appCode"],
        }
    }

    fn m(f: &str) -> bool {
        parse(f, &SCHEMA).unwrap_or_else(|e| panic!("{f}: {e}")).matches(&row())
    }

    #[test]
    fn accepted_forms() {
        assert!(m("isSuccess eq true"));
        assert!(m("isSuccess"));
        assert!(!m("isSuccess eq false"));
        assert!(m("authMethod eq 'microsoftAuthenticatorPush'"));
        assert!(m("authMethod eq microsoft.graph.usageAuthMethod'microsoftAuthenticatorPush'"));
        assert!(m("startswith(userPrincipalName,'zOË')"));
        assert!(m("startswith(userPrincipalName,'x') eq false"));
        assert!(m("userPrincipalName eq 'zoë@contoso.com'"));
        assert!(m("count gt 10 and count le 12"));
        assert!(!m("count lt 12"));
        assert!(m("eventDateTime ge 2026-11-20T00:00:00Z"));
        assert!(m("eventDateTime lt 2026-11-20T10:00:01+00:00"));
        assert!(m("authMethods/any(t:t eq 'EMAIL')"));
        assert!(!m("authMethods/any(t: t eq 'fido')"));
        assert!(m("not (isSuccess eq false) or count eq 0"));
        assert!(m("failureReason eq null"));
        assert!(!m("failureReason eq 'x'"));
    }

    #[test]
    fn time_bounds() {
        let f = parse("eventDateTime ge 2026-11-01T00:00:00Z and isSuccess eq true", &SCHEMA).unwrap();
        assert_eq!(f.min_time(4), Some(OffsetDateTime::parse("2026-11-01T00:00:00Z", &Rfc3339).unwrap()));
        let f = parse("eventDateTime ge 2026-11-01T00:00:00Z or isSuccess eq true", &SCHEMA).unwrap();
        assert_eq!(f.min_time(4), None);
        let f = parse("eventDateTime le 2026-11-01T00:00:00Z", &SCHEMA).unwrap();
        assert_eq!(f.min_time(4), None);
    }

    #[test]
    fn refusals() {
        for bad in [
            "",
            "nope eq 1",
            "isSuccess eq 'true'",
            "authMethod eq 'notAMethod'",
            "authMethod gt 'email'",
            "eventDateTime ge '2026-11-20T00:00:00Z'",
            "eventDateTime ge 2026-13-45T00:00:00Z",
            "count eq 'x'",
            "count eq 99999999999999999999999",
            "startswith(authMethod,'e')",
            "endswith(userPrincipalName,'x')",
            "authMethods eq 'email'",
            "authMethods/all(t:t eq 'email')",
            "authMethods/any(t:authMethods/any(u:u eq 'x'))",
            "userPrincipalName eq 'unterminated",
            "(isSuccess",
            "isSuccess)",
            "count has 1",
            "userPrincipalName in ('a')",
            "#",
            "userPrincipalName eq microsoft.graph.x'",
        ] {
            assert!(parse(bad, &SCHEMA).is_err(), "{bad}");
        }
        assert!(parse(&format!("{}isSuccess{}", "(".repeat(200), ")".repeat(200)), &SCHEMA).is_err());
        assert!(parse(&"not ".repeat(200), &SCHEMA).is_err());
        let e = parse("isSuccess eq 'x'", &SCHEMA).unwrap_err();
        assert!(e.contains("Edm.Boolean") && e.contains("Edm.String"), "{e}");
        let e = parse("wat eq 1", &SCHEMA).unwrap_err();
        assert_eq!(e, "Could not find a property named 'wat' on type 'microsoft.graph.thing'.");
    }
}
