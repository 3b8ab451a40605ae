//! `$filter` for the report collections of graph-api.md sections 6 and 7 and for `directoryRoles`:
//! one small OData parser driven by a per-entity [`Schema`] that says which properties exist, their
//! types and which operators the documentation allows on each. Anything else is refused with the
//! 400 a client would get, so tests notice clients that build filters Graph would reject.
//!
//! Supported: `eq`/`ne` (strings case-insensitively, like Graph's report filters), `gt`/`ge`/`lt`/
//! `le` on numbers and date-times, `startswith(prop,'x')`, `collection/any(x: x eq 'v')`, `and`,
//! `or`, `not`, parentheses, `null`, and typed enum literals such as
//! `microsoft.graph.usageAuthMethod'email'` (the form graph-api.md 6.4 documents). Date-times are
//! unquoted OData literals (`eventDateTime ge 2026-11-20T00:00:00Z`); a quoted one is a string and is
//! refused as an incompatible type, as OData does.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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
    Cmp { field: usize, op: Op, lit: Lit },
    StartsWith { field: usize, prefix: String },
    Any { field: usize, body: Box<Expr> },
}

fn lower_eq(a: &str, b: &str) -> bool {
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
            Expr::Any { field, body } => match value(*field) {
                Val::List(items) => items.iter().any(|i| body.eval(rec, Some(i))),
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
            if lower_eq(s, w) {
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

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// A number or date-time literal.
    Atom(String),
    Str(String),
    /// `type'value'`.
    Typed(String, String),
    LParen,
    RParen,
    Comma,
    Slash,
    Colon,
}

fn syntax(pos: usize, input: &str) -> String {
    format!("Syntax error at position {pos} in '{input}'.")
}

fn quoted(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> Option<String> {
    let mut s = String::new();
    while let Some((_, ch)) = chars.next() {
        if ch == '\'' {
            if matches!(chars.peek(), Some((_, '\''))) {
                chars.next();
                s.push('\'');
            } else {
                return Some(s);
            }
        } else {
            s.push(ch);
        }
    }
    None
}

fn tokenize(input: &str) -> Result<Vec<(usize, Tok)>, String> {
    let mut out = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(pos, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            ',' => Some(Tok::Comma),
            '/' => Some(Tok::Slash),
            ':' => Some(Tok::Colon),
            _ => None,
        };
        if let Some(t) = single {
            chars.next();
            out.push((pos, t));
        } else if c == '\'' {
            chars.next();
            let s = quoted(&mut chars).ok_or_else(|| syntax(pos, input))?;
            out.push((pos, Tok::Str(s)));
        } else if c.is_ascii_digit() || c == '-' {
            let mut s = String::new();
            while let Some(&(_, ch)) = chars.peek() {
                if ch.is_ascii_alphanumeric() || matches!(ch, ':' | '.' | '+' | '-') {
                    s.push(ch);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push((pos, Tok::Atom(s)));
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let mut s = String::new();
            while let Some(&(_, ch)) = chars.peek() {
                if ch.is_alphanumeric() || matches!(ch, '_' | '.' | '$') {
                    s.push(ch);
                    chars.next();
                } else {
                    break;
                }
            }
            if matches!(chars.peek(), Some((_, '\''))) {
                chars.next();
                let v = quoted(&mut chars).ok_or_else(|| syntax(pos, input))?;
                out.push((pos, Tok::Typed(s, v)));
            } else {
                out.push((pos, Tok::Ident(s)));
            }
        } else {
            return Err(syntax(pos, input));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    input: &'a str,
    schema: &'a Schema,
    toks: Vec<(usize, Tok)>,
    pos: usize,
    depth: usize,
    /// The lambda variable and the element type of its collection.
    var: Option<(String, Ty)>,
}

/// Parse and validate `input` against `schema`; the error is the 400 message.
pub(crate) fn parse(input: &str, schema: &Schema) -> Result<Expr, String> {
    if input.len() > MAX_LEN {
        return Err(format!("The $filter expression is longer than {MAX_LEN} characters."));
    }
    let toks = tokenize(input)?;
    if toks.is_empty() {
        return Err("The $filter expression must not be empty.".into());
    }
    let mut p = Parser { input, schema, toks, pos: 0, depth: 0, var: None };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err(p.err_here());
    }
    Ok(e)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        t
    }

    fn back(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    fn err_here(&self) -> String {
        let at = self.toks.get(self.pos).map(|(p, _)| *p).unwrap_or(self.input.len());
        syntax(at, self.input)
    }

    fn expect(&mut self, t: Tok) -> Result<(), String> {
        if self.peek() == Some(&t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err_here())
        }
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH { Err("The $filter expression is nested too deeply.".into()) } else { Ok(()) }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_kw("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.peek_kw("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_kw("not") {
            self.pos += 1;
            self.enter()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::LParen) => {
                self.enter()?;
                let e = self.or()?;
                self.expect(Tok::RParen)?;
                self.depth -= 1;
                Ok(e)
            }
            Some(Tok::Ident(name)) => match self.peek() {
                Some(Tok::LParen) => self.function(&name),
                Some(Tok::Slash) => self.lambda(&name),
                _ => {
                    let (field, ty, ops) = self.field(&name)?;
                    self.comparison(&name, field, ty, ops)
                }
            },
            _ => {
                self.back();
                Err(self.err_here())
            }
        }
    }

    /// Resolve a property (or the lambda variable): index, type, allowed operators.
    fn field(&self, name: &str) -> Result<(usize, Ty, u8), String> {
        if let Some((var, ty)) = &self.var
            && var == name
        {
            return Ok((VAR, *ty, EQ | NE | STARTS));
        }
        self.schema
            .fields
            .iter()
            .enumerate()
            .find(|(_, f)| f.name.eq_ignore_ascii_case(name))
            .map(|(i, f)| (i, f.ty, f.ops))
            .ok_or_else(|| format!("Could not find a property named '{name}' on type '{}'.", self.schema.type_name))
    }

    fn unsupported(name: &str, what: &str) -> String {
        format!("Invalid filter clause: {what} is not supported on property '{name}'.")
    }

    /// A literal for a property of type `ty` (type-checked; enum literals must be members).
    fn literal(&mut self, ty: Ty, op: Op) -> Result<Lit, String> {
        let incompatible = |found: &str| {
            format!(
                "A binary operator with incompatible types was detected. Found operand types '{}' and '{found}' for operator kind '{}'.",
                ty.edm(),
                op.kind()
            )
        };
        let tok = self.next();
        let lit = match (&tok, ty) {
            (Some(Tok::Ident(s)), _) if s.eq_ignore_ascii_case("null") => Lit::Null,
            (Some(Tok::Ident(s)), Ty::Bool) if s.eq_ignore_ascii_case("true") => Lit::Bool(true),
            (Some(Tok::Ident(s)), Ty::Bool) if s.eq_ignore_ascii_case("false") => Lit::Bool(false),
            (Some(Tok::Ident(s)), _) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {
                return Err(incompatible("Edm.Boolean"));
            }
            (Some(Tok::Str(s)), Ty::Str | Ty::List) => Lit::Str(s.clone()),
            (Some(Tok::Str(s)) | Some(Tok::Typed(_, s)), Ty::Enum(name, members)) => {
                let Some(m) = members.iter().find(|m| m.eq_ignore_ascii_case(s)) else {
                    return Err(format!("The string '{s}' is not a valid enumeration type constant of '{name}'."));
                };
                Lit::Str((*m).to_owned())
            }
            (Some(Tok::Str(_)), _) => return Err(incompatible("Edm.String")),
            (Some(Tok::Atom(a)), Ty::Int) => {
                Lit::Int(a.parse().map_err(|_| format!("'{a}' is not a valid Edm.Int64 literal."))?)
            }
            (Some(Tok::Atom(a)), Ty::Time) => Lit::Time(
                OffsetDateTime::parse(a, &Rfc3339)
                    .map_err(|_| format!("'{a}' is not a valid Edm.DateTimeOffset literal."))?,
            ),
            (Some(Tok::Atom(a)), _) => {
                let found = if a.contains('T') { "Edm.DateTimeOffset" } else { "Edm.Int64" };
                return Err(incompatible(found));
            }
            _ => {
                self.back();
                return Err(self.err_here());
            }
        };
        Ok(lit)
    }

    fn comparison(&mut self, name: &str, field: usize, ty: Ty, ops: u8) -> Result<Expr, String> {
        let word = match self.peek() {
            Some(Tok::Ident(s)) => s.to_ascii_lowercase(),
            _ => String::new(),
        };
        let op = match word.as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            // A bare boolean property means `eq true`.
            "and" | "or" | "" if ty == Ty::Bool && ops & EQ != 0 && self.peek() != Some(&Tok::Comma) => {
                return Ok(Expr::Cmp { field, op: Op::Eq, lit: Lit::Bool(true) });
            }
            "" => return Err(self.err_here()),
            other => return Err(Self::unsupported(name, &format!("the '{other}' operator"))),
        };
        let allowed = match op {
            Op::Eq => ops & EQ != 0,
            Op::Ne => ops & NE != 0,
            _ => ops & ORD != 0,
        };
        if ty == Ty::List {
            return Err(format!("The collection property '{name}' can only be filtered with any()."));
        }
        if !allowed {
            return Err(Self::unsupported(name, &format!("the '{word}' operator")));
        }
        self.pos += 1;
        let lit = self.literal(ty, op)?;
        Ok(Expr::Cmp { field, op, lit })
    }

    fn function(&mut self, name: &str) -> Result<Expr, String> {
        if !name.eq_ignore_ascii_case("startswith") {
            return Err(format!("Invalid filter clause: the function '{name}' is not supported."));
        }
        self.expect(Tok::LParen)?;
        let prop = match self.next() {
            Some(Tok::Ident(p)) => p,
            _ => {
                self.back();
                return Err(self.err_here());
            }
        };
        let (field, ty, ops) = self.field(&prop)?;
        if ops & STARTS == 0 || !matches!(ty, Ty::Str) {
            return Err(Self::unsupported(&prop, "startswith"));
        }
        self.expect(Tok::Comma)?;
        let prefix = match self.next() {
            Some(Tok::Str(s)) => s,
            _ => {
                self.back();
                return Err(self.err_here());
            }
        };
        self.expect(Tok::RParen)?;
        let e = Expr::StartsWith { field, prefix };
        // `startswith(a,'b') eq true|false` is valid OData too.
        if self.peek_kw("eq") || self.peek_kw("ne") {
            let eq = self.peek_kw("eq");
            self.pos += 1;
            let want = match self.next() {
                Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("true") => true,
                Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("false") => false,
                _ => {
                    self.back();
                    return Err(self.err_here());
                }
            };
            return Ok(if want == eq { e } else { Expr::Not(Box::new(e)) });
        }
        Ok(e)
    }

    fn lambda(&mut self, collection: &str) -> Result<Expr, String> {
        let (field, ty, ops) = self.field(collection)?;
        self.expect(Tok::Slash)?;
        let op = match self.next() {
            Some(Tok::Ident(s)) => s.to_ascii_lowercase(),
            _ => {
                self.back();
                return Err(self.err_here());
            }
        };
        if op != "any" || ty != Ty::List || ops & ANY == 0 || field == VAR {
            return Err(Self::unsupported(collection, &format!("'{op}'")));
        }
        if self.var.is_some() {
            return Err("Invalid filter clause: a lambda inside a lambda is not supported.".into());
        }
        self.expect(Tok::LParen)?;
        let var = match self.next() {
            Some(Tok::Ident(v)) => v,
            _ => {
                self.back();
                return Err(self.err_here());
            }
        };
        self.expect(Tok::Colon)?;
        self.enter()?;
        self.var = Some((var, Ty::Str));
        let body = self.or();
        self.var = None;
        let body = body?;
        self.expect(Tok::RParen)?;
        self.depth -= 1;
        Ok(Expr::Any { field, body: Box::new(body) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
