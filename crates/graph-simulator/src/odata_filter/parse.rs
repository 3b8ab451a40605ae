//! Tokenizer and recursive-descent parser behind [`super::parse`] and [`super::parse_in`]. The
//! [`Dialect::Registration`] branches reproduce the userRegistrationDetails answers (Microsoft Graph, "List
//! userRegistrationDetails"
//! (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-userregistrationdetails>), "Optional query
//! parameters", and answers seen from live tenants) (its own identifier rules, refusal texts and their order, `in`,
//! `all()`, the UnknownError of `systemPreferredAuthenticationMethods`); everything else is shared.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{
    ALL, ANY, Dialect, EQ, Expr, FilterError, IN, Lit, MAX_DEPTH, MAX_LEN, NE, NON_ENTITY, ORD, Op, STARTS, Schema, Ty,
    VAR,
};

type Res<T> = Result<T, FilterError>;

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

fn invalid(message: impl Into<String>) -> FilterError {
    FilterError::Invalid(message.into())
}

fn syntax(pos: usize, input: &str) -> FilterError {
    invalid(format!("Syntax error at position {pos} in '{input}'."))
}

fn incompatible(left: &str, right: &str, kind: &str) -> FilterError {
    invalid(format!(
        "A binary operator with incompatible types was detected. Found operand types '{left}' and '{right}' for operator kind '{kind}'."
    ))
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

/// A character of a [`Dialect::Registration`] identifier; that dialect has no number, date-time
/// or typed literals, so `1`, `-x` and `.x` are identifiers too.
fn plain_ident(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '$' | '-')
}

fn tokenize(input: &str, dialect: Dialect) -> Res<Vec<(usize, Tok)>> {
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
        } else if dialect == Dialect::Registration && plain_ident(c) {
            let mut s = String::new();
            while let Some(&(_, ch)) = chars.peek().filter(|(_, ch)| plain_ident(*ch)) {
                s.push(ch);
                chars.next();
            }
            out.push((pos, Tok::Ident(s)));
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
    dialect: Dialect,
    toks: Vec<(usize, Tok)>,
    pos: usize,
    depth: usize,
    /// The lambda variable and the element type of its collection.
    var: Option<(String, Ty)>,
}

/// Parse and validate `input` against `schema` in `dialect`.
pub(crate) fn parse_in(input: &str, schema: &Schema, dialect: Dialect) -> Res<Expr> {
    if input.len() > MAX_LEN {
        return Err(invalid(format!("The $filter expression is longer than {MAX_LEN} characters.")));
    }
    let toks = tokenize(input, dialect)?;
    if toks.is_empty() {
        return Err(invalid("The $filter expression must not be empty."));
    }
    let mut p = Parser { input, schema, dialect, toks, pos: 0, depth: 0, var: None };
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

    fn err_here(&self) -> FilterError {
        let at = self.toks.get(self.pos).map(|(p, _)| *p).unwrap_or(self.input.len());
        syntax(at, self.input)
    }

    /// The next token as a lower-case word, or a syntax error there.
    fn word(&mut self) -> Res<String> {
        match self.next() {
            Some(Tok::Ident(s)) => Ok(s.to_ascii_lowercase()),
            _ => {
                self.back();
                Err(self.err_here())
            }
        }
    }

    fn expect(&mut self, t: Tok) -> Res<()> {
        if self.peek() == Some(&t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err_here())
        }
    }

    fn enter(&mut self) -> Res<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH { Err(invalid("The $filter expression is nested too deeply.")) } else { Ok(()) }
    }

    fn or(&mut self) -> Res<Expr> {
        let mut left = self.and()?;
        while self.peek_kw("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Res<Expr> {
        let mut left = self.unary()?;
        while self.peek_kw("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Res<Expr> {
        if self.peek_kw("not") {
            self.pos += 1;
            self.enter()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Res<Expr> {
        let registration = self.dialect == Dialect::Registration;
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
                Some(Tok::Slash) if registration => self.lambda_registration(&name),
                Some(Tok::Slash) => self.lambda(&name),
                _ if registration => {
                    let (field, ty, ops) = self.operand(&name)?;
                    self.comparison_registration(field, ty, ops)
                }
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
    fn field(&self, name: &str) -> Res<(usize, Ty, u8)> {
        if let Some((var, ty)) = &self.var
            && var == name
        {
            return Ok((VAR, *ty, EQ | NE | STARTS | IN));
        }
        self.schema
            .fields
            .iter()
            .enumerate()
            .find(|(_, f)| f.name.eq_ignore_ascii_case(name))
            .map(|(i, f)| (i, f.ty, f.ops))
            .ok_or_else(|| {
                invalid(format!("Could not find a property named '{name}' on type '{}'.", self.schema.type_name))
            })
    }

    /// [`Dialect::Registration`]: a property used as an operand; collections and properties that
    /// take no operator are refused as soon as they are named.
    fn operand(&self, name: &str) -> Res<(usize, Ty, u8)> {
        let (field, ty, ops) = self.field(name)?;
        if field == VAR {
            return Ok((field, ty, ops));
        }
        if ty == Ty::List {
            return Err(invalid(format!("The collection property '{name}' can only be filtered with any() or all().")));
        }
        if ops == 0 {
            let canonical = self.schema.fields[field].name;
            return Err(invalid(format!("Invalid filter clause: filtering on {canonical} is not supported.")));
        }
        Ok((field, ty, ops))
    }

    fn unsupported(name: &str, what: &str) -> FilterError {
        invalid(format!("Invalid filter clause: {what} is not supported on property '{name}'."))
    }

    /// A literal for a property of type `ty` (type-checked; enum literals must be members).
    fn literal(&mut self, ty: Ty, kind: &str) -> Res<Lit> {
        let tok = self.next();
        let lit = match (&tok, ty) {
            (Some(Tok::Ident(s)), _) if s.eq_ignore_ascii_case("null") => Lit::Null,
            (Some(Tok::Ident(s)), Ty::Bool) if s.eq_ignore_ascii_case("true") => Lit::Bool(true),
            (Some(Tok::Ident(s)), Ty::Bool) if s.eq_ignore_ascii_case("false") => Lit::Bool(false),
            (Some(Tok::Ident(s)), _) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {
                return Err(incompatible(ty.edm(), "Edm.Boolean", kind));
            }
            (Some(Tok::Str(s)), Ty::Str | Ty::List) => Lit::Str(s.clone()),
            (Some(Tok::Str(s)) | Some(Tok::Typed(_, s)), Ty::Enum(name, members)) => {
                let Some(m) = members.iter().find(|m| m.eq_ignore_ascii_case(s)) else {
                    return Err(invalid(format!(
                        "The string '{s}' is not a valid enumeration type constant of '{name}'."
                    )));
                };
                Lit::Str((*m).to_owned())
            }
            (Some(Tok::Str(_)), _) => return Err(incompatible(ty.edm(), "Edm.String", kind)),
            (Some(Tok::Atom(a)), Ty::Int) => {
                Lit::Int(a.parse().map_err(|_| invalid(format!("'{a}' is not a valid Edm.Int64 literal.")))?)
            }
            (Some(Tok::Atom(a)), Ty::Time) => Lit::Time(
                OffsetDateTime::parse(a, &Rfc3339)
                    .map_err(|_| invalid(format!("'{a}' is not a valid Edm.DateTimeOffset literal.")))?,
            ),
            (Some(Tok::Atom(a)), _) => {
                let found = if a.contains('T') { "Edm.DateTimeOffset" } else { "Edm.Int64" };
                return Err(incompatible(ty.edm(), found, kind));
            }
            _ => {
                self.back();
                return Err(self.err_here());
            }
        };
        Ok(lit)
    }

    fn comparison(&mut self, name: &str, field: usize, ty: Ty, ops: u8) -> Res<Expr> {
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
            return Err(invalid(format!("The collection property '{name}' can only be filtered with any().")));
        }
        if !allowed {
            return Err(Self::unsupported(name, &format!("the '{word}' operator")));
        }
        self.pos += 1;
        let lit = self.literal(ty, op.kind())?;
        Ok(Expr::Cmp { field, op, lit })
    }

    /// [`Dialect::Registration`]: every operand takes `eq`/`ne`, `in` where the field allows it,
    /// and the refusals are worded (and ordered) as userRegistrationDetails words them.
    fn comparison_registration(&mut self, field: usize, ty: Ty, ops: u8) -> Res<Expr> {
        let word = match self.peek() {
            Some(Tok::Ident(s)) => s.to_ascii_lowercase(),
            _ => String::new(),
        };
        let op = match word.as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "in" if ops & IN != 0 => return self.in_list(field, ty),
            "and" | "or" | "" if ty == Ty::Bool => return Ok(Expr::Cmp { field, op: Op::Eq, lit: Lit::Bool(true) }),
            "gt" | "ge" | "lt" | "le" | "has" | "add" | "sub" | "mul" | "div" | "mod" => {
                return Err(invalid(format!("Invalid filter clause: the '{word}' operator is not supported.")));
            }
            "and" | "or" => return Err(invalid("The $filter expression must evaluate to a single boolean value.")),
            _ => return Err(self.err_here()),
        };
        self.pos += 1;
        let lit = self.literal(ty, op.kind())?;
        Ok(Expr::Cmp { field, op, lit })
    }

    /// `field in (v1, v2, ...)`, the `in` keyword being next.
    fn in_list(&mut self, field: usize, ty: Ty) -> Res<Expr> {
        self.pos += 1;
        self.expect(Tok::LParen)?;
        let mut values = Vec::new();
        loop {
            values.push(self.literal(ty, "In")?);
            match self.next() {
                Some(Tok::Comma) => continue,
                Some(Tok::RParen) => break,
                _ => {
                    self.back();
                    return Err(self.err_here());
                }
            }
        }
        Ok(Expr::In { field, values })
    }

    fn function(&mut self, name: &str) -> Res<Expr> {
        if !name.eq_ignore_ascii_case("startswith") {
            return Err(invalid(format!("Invalid filter clause: the function '{name}' is not supported.")));
        }
        let registration = self.dialect == Dialect::Registration;
        self.expect(Tok::LParen)?;
        let prop = match self.next() {
            Some(Tok::Ident(p)) => p,
            _ => {
                self.back();
                return Err(self.err_here());
            }
        };
        let (field, ty, ops) = if registration { self.operand(&prop)? } else { self.field(&prop)? };
        if ops & STARTS == 0 || !matches!(ty, Ty::Str) {
            return Err(if registration {
                invalid(format!("Invalid filter clause: startswith on '{prop}' is not supported."))
            } else {
                Self::unsupported(&prop, "startswith")
            });
        }
        self.expect(Tok::Comma)?;
        let prefix = if registration {
            match self.literal(Ty::Str, "StartsWith")? {
                Lit::Str(s) => s,
                _ => return Err(incompatible("Edm.String", "Edm.Boolean", "StartsWith")),
            }
        } else {
            match self.next() {
                Some(Tok::Str(s)) => s,
                _ => {
                    self.back();
                    return Err(self.err_here());
                }
            }
        };
        self.expect(Tok::RParen)?;
        let e = Expr::StartsWith { field, prefix };
        // `startswith(a,'b') eq true|false` is valid OData too.
        if self.peek_kw("eq") || self.peek_kw("ne") {
            let eq = self.peek_kw("eq");
            let kind = if eq { Op::Eq.kind() } else { Op::Ne.kind() };
            self.pos += 1;
            let want = if registration {
                match self.literal(Ty::Bool, kind)? {
                    Lit::Bool(b) => b,
                    _ => return Err(incompatible("Edm.Boolean", "Edm.String", kind)),
                }
            } else {
                match self.next() {
                    Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("true") => true,
                    Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("false") => false,
                    _ => {
                        self.back();
                        return Err(self.err_here());
                    }
                }
            };
            return Ok(if want == eq { e } else { Expr::Not(Box::new(e)) });
        }
        Ok(e)
    }

    fn lambda(&mut self, collection: &str) -> Res<Expr> {
        let (field, ty, ops) = self.field(collection)?;
        self.expect(Tok::Slash)?;
        let op = self.word()?;
        if op != "any" || ty != Ty::List || ops & ANY == 0 || field == VAR {
            return Err(Self::unsupported(collection, &format!("'{op}'")));
        }
        if self.var.is_some() {
            return Err(invalid("Invalid filter clause: a lambda inside a lambda is not supported."));
        }
        self.expect(Tok::LParen)?;
        let body = self.lambda_body()?;
        Ok(Expr::Any { field, body: Some(Box::new(body)) })
    }

    /// [`Dialect::Registration`]: `collection/any(...)`, `/any()` (non-empty), `/all(...)` where
    /// the field allows it; a [`NON_ENTITY`] collection answers Graph's UnknownError instead.
    fn lambda_registration(&mut self, collection: &str) -> Res<Expr> {
        self.expect(Tok::Slash)?;
        let op = self.word()?;
        let declared = self.schema.fields.iter().position(|f| f.name.eq_ignore_ascii_case(collection));
        let ops = declared.map_or(0, |i| self.schema.fields[i].ops);
        if ops & NON_ENTITY != 0 && (op == "any" || op == "all") {
            return Err(FilterError::NonEntityType);
        }
        let Some(field) = declared.filter(|&i| self.schema.fields[i].ty == Ty::List && ops & ANY != 0) else {
            self.operand(collection)?;
            return Err(invalid(format!("Invalid filter clause: '{collection}/{op}' is not supported.")));
        };
        let all = match op.as_str() {
            "any" => false,
            "all" if ops & ALL != 0 => true,
            "$count" => return Err(invalid("Invalid filter clause: $count in $filter is not supported.")),
            _ => return Err(invalid(format!("Invalid filter clause: '{collection}/{op}' is not supported."))),
        };
        if self.var.is_some() {
            return Err(invalid("Invalid filter clause: a lambda inside a lambda is not supported."));
        }
        self.expect(Tok::LParen)?;
        if self.peek() == Some(&Tok::RParen) {
            self.pos += 1;
            if all {
                return Err(self.err_here());
            }
            return Ok(Expr::Any { field, body: None });
        }
        let body = Box::new(self.lambda_body()?);
        Ok(if all { Expr::All { field, body } } else { Expr::Any { field, body: Some(body) } })
    }

    /// `var: body)` of a lambda whose `(` was consumed; the variable ranges over strings.
    fn lambda_body(&mut self) -> Res<Expr> {
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
        Ok(body)
    }
}
