//! `$filter` for userRegistrationDetails: a small recursive-descent parser for the forms Graph
//! documents or community tools use against live tenants (graph-api.md 5.3, 14.4): `eq`/`ne` on
//! the booleans, `eq`/`ne`/`in`/`startswith` (case-insensitive) on the string properties,
//! `methodsRegistered/any(x: x eq 'email')` with any variable name, `and`/`or`/`not` and
//! parentheses. Anything else is rejected with the 400 a client would get from Graph, so tests
//! notice a client building unsupported filters.

use super::population::SimUser;
use super::rows::{ApiVersion, default_mfa_method};

/// Longer filters are rejected; real Graph URLs are limited to a few KB anyway.
const MAX_FILTER_LEN: usize = 4096;
/// Parenthesis/`not` nesting limit, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// Why a filter was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FilterError {
    /// 400 `BadRequest` with this message.
    Invalid(String),
    /// The documented Graph bug: any lambda over `systemPreferredAuthenticationMethods` fails with
    /// `UnknownError` / "Unable to find nonEntity type name" (graph-api.md 5.3).
    NonEntityType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BoolProp {
    Admin,
    MfaCapable,
    MfaRegistered,
    PasswordlessCapable,
    SsprCapable,
    SsprEnabled,
    SsprRegistered,
    SystemPreferredEnabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrProp {
    Id,
    UserPrincipalName,
    UserDisplayName,
    UserType,
    UserPreferredMethod,
    DefaultMfaMethod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrField {
    Prop(StrProp),
    /// The lambda variable (an element of `methodsRegistered`).
    Var,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// `prop eq|ne true|false|null`; a bare boolean property means `eq true`.
    Bool {
        prop: BoolProp,
        want: Option<bool>,
        eq: bool,
    },
    /// `field eq|ne 'v'` (one value) or `field in ('a','b')`; comparisons are case-insensitive.
    Str {
        field: StrField,
        values: Vec<Option<String>>,
        eq: bool,
    },
    StartsWith {
        field: StrField,
        prefix: String,
        want: bool,
    },
    /// `methodsRegistered/any(...)` or `/all(...)`; no body means "non-empty".
    Lambda {
        any: bool,
        body: Option<Box<Expr>>,
    },
}

impl Expr {
    /// Whether `user` is selected by the filter.
    pub(crate) fn matches(&self, user: &SimUser) -> bool {
        self.eval(user, None)
    }

    fn eval(&self, u: &SimUser, item: Option<&str>) -> bool {
        match self {
            Expr::Or(a, b) => a.eval(u, item) || b.eval(u, item),
            Expr::And(a, b) => a.eval(u, item) && b.eval(u, item),
            Expr::Not(a) => !a.eval(u, item),
            Expr::Bool { prop, want, eq } => (bool_value(u, *prop) == *want) == *eq,
            Expr::Str { field, values, eq } => {
                let v = str_value(u, *field, item);
                let hit = values.iter().any(|want| match (v, want) {
                    (Some(v), Some(w)) => eq_ci(v, w),
                    (None, None) => true,
                    _ => false,
                });
                hit == *eq
            }
            Expr::StartsWith { field, prefix, want } => {
                str_value(u, *field, item).is_some_and(|v| starts_ci(v, prefix)) == *want
            }
            Expr::Lambda { any, body } => {
                let methods = &u.methods_registered;
                match (any, body) {
                    (true, None) => !methods.is_empty(),
                    (true, Some(b)) => methods.iter().any(|m| b.eval(u, Some(m))),
                    (false, Some(b)) => methods.iter().all(|m| b.eval(u, Some(m))),
                    (false, None) => true,
                }
            }
        }
    }
}

fn bool_value(u: &SimUser, p: BoolProp) -> Option<bool> {
    match p {
        BoolProp::Admin => u.is_admin,
        BoolProp::MfaCapable => Some(u.is_mfa_capable),
        BoolProp::MfaRegistered => Some(u.is_mfa_registered),
        BoolProp::PasswordlessCapable => Some(u.is_passwordless_capable),
        BoolProp::SsprCapable => Some(u.is_sspr_capable),
        BoolProp::SsprEnabled => Some(u.is_sspr_enabled),
        BoolProp::SsprRegistered => Some(u.is_sspr_registered),
        BoolProp::SystemPreferredEnabled => u.system_preferred_enabled,
    }
}

fn str_value<'a>(u: &'a SimUser, f: StrField, item: Option<&'a str>) -> Option<&'a str> {
    match f {
        StrField::Var => item,
        StrField::Prop(StrProp::Id) => Some(&u.id),
        StrField::Prop(StrProp::UserPrincipalName) => Some(&u.user_principal_name),
        StrField::Prop(StrProp::UserDisplayName) => Some(&u.user_display_name),
        StrField::Prop(StrProp::UserType) => u.user_type.as_deref(),
        StrField::Prop(StrProp::UserPreferredMethod) => u.default_method.as_deref(),
        StrField::Prop(StrProp::DefaultMfaMethod) => default_mfa_method(u),
    }
}

/// Case-insensitive equality, allocation-free for ASCII.
pub(crate) fn eq_ci(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() { a.eq_ignore_ascii_case(b) } else { a.to_lowercase() == b.to_lowercase() }
}

fn starts_ci(s: &str, prefix: &str) -> bool {
    if s.is_ascii() && prefix.is_ascii() {
        s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    } else {
        s.to_lowercase().starts_with(&prefix.to_lowercase())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    LParen,
    RParen,
    Comma,
    Slash,
    Colon,
}

fn tokenize(input: &str) -> Result<Vec<(usize, Tok)>, FilterError> {
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
            continue;
        }
        if c == '\'' {
            chars.next();
            let mut s = String::new();
            let mut closed = false;
            while let Some((_, ch)) = chars.next() {
                if ch == '\'' {
                    if matches!(chars.peek(), Some((_, '\''))) {
                        chars.next();
                        s.push('\'');
                    } else {
                        closed = true;
                        break;
                    }
                } else {
                    s.push(ch);
                }
            }
            if !closed {
                return Err(syntax(pos, input));
            }
            out.push((pos, Tok::Str(s)));
            continue;
        }
        if c.is_alphanumeric() || c == '_' || c == '.' || c == '$' || c == '-' {
            let mut s = String::new();
            while let Some(&(_, ch)) = chars.peek() {
                if ch.is_alphanumeric() || ch == '_' || ch == '.' || ch == '$' || ch == '-' {
                    s.push(ch);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push((pos, Tok::Ident(s)));
            continue;
        }
        return Err(syntax(pos, input));
    }
    Ok(out)
}

fn syntax(pos: usize, input: &str) -> FilterError {
    FilterError::Invalid(format!("Syntax error at position {pos} in '{input}'."))
}

fn unknown_property(name: &str) -> FilterError {
    FilterError::Invalid(format!(
        "Could not find a property named '{name}' on type 'microsoft.graph.userRegistrationDetails'."
    ))
}

fn unsupported(what: &str) -> FilterError {
    FilterError::Invalid(format!("Invalid filter clause: {what} is not supported."))
}

fn incompatible(left: &str, right: &str, op: &str) -> FilterError {
    FilterError::Invalid(format!(
        "A binary operator with incompatible types was detected. Found operand types '{left}' and '{right}' for operator kind '{op}'."
    ))
}

enum Operand {
    Bool(BoolProp),
    Str(StrField),
}

enum Lit {
    Bool(bool),
    Null,
    Str(String),
}

struct Parser<'a> {
    input: &'a str,
    toks: Vec<(usize, Tok)>,
    pos: usize,
    depth: usize,
    version: ApiVersion,
    /// The lambda variable in scope, if inside `any(...)`/`all(...)`.
    var: Option<String>,
}

/// Parse a `$filter` value for the given API version (beta knows `defaultMfaMethod`).
pub(crate) fn parse(input: &str, version: ApiVersion) -> Result<Expr, FilterError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(FilterError::Invalid(format!(
            "The $filter expression is longer than {MAX_FILTER_LEN} characters."
        )));
    }
    let toks = tokenize(input)?;
    if toks.is_empty() {
        return Err(FilterError::Invalid("The $filter expression must not be empty.".into()));
    }
    let mut p = Parser { input, toks, pos: 0, depth: 0, version, var: None };
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

    fn err_here(&self) -> FilterError {
        let at = self.toks.get(self.pos).map(|(p, _)| *p).unwrap_or(self.input.len());
        syntax(at, self.input)
    }

    fn expect(&mut self, t: Tok) -> Result<(), FilterError> {
        if self.peek() == Some(&t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err_here())
        }
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::Invalid("The $filter expression is nested too deeply.".into()));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.peek_kw("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        while self.peek_kw("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.peek_kw("not") {
            self.pos += 1;
            self.enter()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        match self.next() {
            Some(Tok::LParen) => {
                self.enter()?;
                let e = self.or()?;
                self.expect(Tok::RParen)?;
                self.depth -= 1;
                Ok(e)
            }
            Some(Tok::Ident(name)) => {
                if self.peek() == Some(&Tok::LParen) {
                    return self.function(&name);
                }
                if self.peek() == Some(&Tok::Slash) {
                    return self.lambda(&name);
                }
                let operand = self.operand(&name)?;
                self.comparison(operand)
            }
            _ => {
                self.pos = self.pos.saturating_sub(1);
                Err(self.err_here())
            }
        }
    }

    fn operand(&self, name: &str) -> Result<Operand, FilterError> {
        if self.var.as_deref() == Some(name) {
            return Ok(Operand::Str(StrField::Var));
        }
        let lower = name.to_ascii_lowercase();
        let b = |p| Ok(Operand::Bool(p));
        let s = |p| Ok(Operand::Str(StrField::Prop(p)));
        match lower.as_str() {
            "isadmin" => b(BoolProp::Admin),
            "ismfacapable" => b(BoolProp::MfaCapable),
            "ismfaregistered" => b(BoolProp::MfaRegistered),
            "ispasswordlesscapable" => b(BoolProp::PasswordlessCapable),
            "isssprcapable" => b(BoolProp::SsprCapable),
            "isssprenabled" => b(BoolProp::SsprEnabled),
            "isssprregistered" => b(BoolProp::SsprRegistered),
            "issystempreferredauthenticationmethodenabled" => b(BoolProp::SystemPreferredEnabled),
            "id" => s(StrProp::Id),
            "userprincipalname" => s(StrProp::UserPrincipalName),
            "userdisplayname" => s(StrProp::UserDisplayName),
            "usertype" => s(StrProp::UserType),
            "userpreferredmethodforsecondaryauthentication" => s(StrProp::UserPreferredMethod),
            "defaultmfamethod" if self.version == ApiVersion::Beta => s(StrProp::DefaultMfaMethod),
            "methodsregistered" | "systempreferredauthenticationmethods" => Err(FilterError::Invalid(format!(
                "The collection property '{name}' can only be filtered with any() or all()."
            ))),
            "lastupdateddatetime" => Err(unsupported("filtering on lastUpdatedDateTime")),
            _ => Err(unknown_property(name)),
        }
    }

    fn literal(&mut self) -> Result<Lit, FilterError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("true") => Ok(Lit::Bool(true)),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("false") => Ok(Lit::Bool(false)),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("null") => Ok(Lit::Null),
            _ => {
                self.pos = self.pos.saturating_sub(1);
                Err(self.err_here())
            }
        }
    }

    fn comparison(&mut self, operand: Operand) -> Result<Expr, FilterError> {
        let op = match self.peek() {
            Some(Tok::Ident(s)) => s.to_ascii_lowercase(),
            _ => String::new(),
        };
        match (operand, op.as_str()) {
            (Operand::Bool(prop), "eq" | "ne") => {
                self.pos += 1;
                let eq = op == "eq";
                let want = match self.literal()? {
                    Lit::Bool(b) => Some(b),
                    Lit::Null => None,
                    Lit::Str(_) => {
                        return Err(incompatible("Edm.Boolean", "Edm.String", kind(eq)));
                    }
                };
                Ok(Expr::Bool { prop, want, eq })
            }
            (Operand::Bool(prop), "and" | "or" | "") => Ok(Expr::Bool { prop, want: Some(true), eq: true }),
            (Operand::Str(field), "eq" | "ne") => {
                self.pos += 1;
                let eq = op == "eq";
                let value = match self.literal()? {
                    Lit::Str(s) => Some(s),
                    Lit::Null => None,
                    Lit::Bool(_) => {
                        return Err(incompatible("Edm.String", "Edm.Boolean", kind(eq)));
                    }
                };
                Ok(Expr::Str { field, values: vec![value], eq })
            }
            (Operand::Str(field), "in") => {
                self.pos += 1;
                self.expect(Tok::LParen)?;
                let mut values = Vec::new();
                loop {
                    match self.literal()? {
                        Lit::Str(s) => values.push(Some(s)),
                        Lit::Null => values.push(None),
                        Lit::Bool(_) => {
                            return Err(incompatible("Edm.String", "Edm.Boolean", "In"));
                        }
                    }
                    match self.next() {
                        Some(Tok::Comma) => continue,
                        Some(Tok::RParen) => break,
                        _ => {
                            self.pos = self.pos.saturating_sub(1);
                            return Err(self.err_here());
                        }
                    }
                }
                Ok(Expr::Str { field, values, eq: true })
            }
            (Operand::Str(_), "") => Err(self.err_here()),
            (_, "gt" | "ge" | "lt" | "le" | "has" | "add" | "sub" | "mul" | "div" | "mod") => {
                Err(unsupported(&format!("the '{op}' operator")))
            }
            (Operand::Str(_), "and" | "or") => {
                Err(FilterError::Invalid("The $filter expression must evaluate to a single boolean value.".into()))
            }
            _ => Err(self.err_here()),
        }
    }

    fn function(&mut self, name: &str) -> Result<Expr, FilterError> {
        if !name.eq_ignore_ascii_case("startswith") {
            return Err(unsupported(&format!("the function '{name}'")));
        }
        self.expect(Tok::LParen)?;
        let field = match self.next() {
            Some(Tok::Ident(prop)) => match self.operand(&prop)? {
                Operand::Str(f @ StrField::Var)
                | Operand::Str(f @ StrField::Prop(StrProp::UserPrincipalName | StrProp::UserDisplayName)) => f,
                _ => return Err(unsupported(&format!("startswith on '{prop}'"))),
            },
            _ => {
                self.pos = self.pos.saturating_sub(1);
                return Err(self.err_here());
            }
        };
        self.expect(Tok::Comma)?;
        let prefix = match self.literal()? {
            Lit::Str(s) => s,
            _ => return Err(incompatible("Edm.String", "Edm.Boolean", "StartsWith")),
        };
        self.expect(Tok::RParen)?;
        // `startswith(a,'b') eq true|false` is valid OData too.
        let mut want = true;
        if self.peek_kw("eq") || self.peek_kw("ne") {
            let eq = self.peek_kw("eq");
            self.pos += 1;
            match self.literal()? {
                Lit::Bool(b) => want = b == eq,
                _ => return Err(incompatible("Edm.Boolean", "Edm.String", kind(eq))),
            }
        }
        Ok(Expr::StartsWith { field, prefix, want })
    }

    fn lambda(&mut self, collection: &str) -> Result<Expr, FilterError> {
        self.expect(Tok::Slash)?;
        let op = match self.next() {
            Some(Tok::Ident(s)) => s.to_ascii_lowercase(),
            _ => {
                self.pos = self.pos.saturating_sub(1);
                return Err(self.err_here());
            }
        };
        if collection.eq_ignore_ascii_case("systemPreferredAuthenticationMethods") && (op == "any" || op == "all") {
            return Err(FilterError::NonEntityType);
        }
        if !collection.eq_ignore_ascii_case("methodsRegistered") {
            return match self.operand(collection) {
                Ok(_) => Err(unsupported(&format!("'{collection}/{op}'"))),
                Err(e) => Err(e),
            };
        }
        let any = match op.as_str() {
            "any" => true,
            "all" => false,
            "$count" => return Err(unsupported("$count in $filter")),
            _ => return Err(unsupported(&format!("'{collection}/{op}'"))),
        };
        if self.var.is_some() {
            return Err(unsupported("a lambda inside a lambda"));
        }
        self.expect(Tok::LParen)?;
        if self.peek() == Some(&Tok::RParen) {
            self.pos += 1;
            if !any {
                return Err(self.err_here());
            }
            return Ok(Expr::Lambda { any, body: None });
        }
        let var = match self.next() {
            Some(Tok::Ident(v)) => v,
            _ => {
                self.pos = self.pos.saturating_sub(1);
                return Err(self.err_here());
            }
        };
        self.expect(Tok::Colon)?;
        self.enter()?;
        self.var = Some(var);
        let body = self.or();
        self.var = None;
        let body = body?;
        self.expect(Tok::RParen)?;
        self.depth -= 1;
        Ok(Expr::Lambda { any, body: Some(Box::new(body)) })
    }
}

fn kind(eq: bool) -> &'static str {
    if eq { "Equal" } else { "NotEqual" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::Population;

    fn user() -> SimUser {
        let mut u = Population::generate(1, 1).users.remove(0);
        u.user_principal_name = "AlexW@Contoso.com".into();
        u.user_display_name = "Zoë Wilber".into();
        u.user_type = Some("member".into());
        u.is_admin = Some(true);
        u.set_methods(vec!["email".into(), "mobilePhone".into()]);
        u
    }

    fn m(f: &str) -> bool {
        parse(f, ApiVersion::Beta).unwrap_or_else(|e| panic!("{f}: {e:?}")).matches(&user())
    }

    fn err(f: &str) -> FilterError {
        parse(f, ApiVersion::V1).expect_err(f)
    }

    #[test]
    fn documented_forms() {
        assert!(m("isMfaRegistered eq true"));
        assert!(!m("isMfaRegistered eq false"));
        assert!(m("IsAdmin eq true"));
        assert!(m("isAdmin"));
        assert!(m("methodsRegistered/any(x:x eq 'email')"));
        assert!(m("methodsRegistered/any(m: m eq 'EMAIL')"));
        assert!(!m("methodsRegistered/any(x:x eq 'fido2SecurityKey')"));
        assert!(m("methodsRegistered/any()"));
        assert!(m("methodsRegistered/all(v: v eq 'email' or v eq 'mobilePhone')"));
        assert!(m("userPrincipalName eq 'alexw@contoso.com'"));
        assert!(m("startswith(userPrincipalName,'ALEX')"));
        assert!(m("startswith(userDisplayName, 'zoË')"));
        assert!(m("startswith(userDisplayName,'x') eq false"));
        assert!(m("userType eq 'member'"));
        assert!(m("userType in ('guest', 'member')"));
        assert!(!m("userType eq null"));
        assert!(m("userType ne 'guest'"));
        assert!(m("defaultMfaMethod eq 'mobilePhone' or defaultMfaMethod ne 'mobilePhone'"));
        assert!(m(
            "isAdmin eq true and (methodsRegistered/any(m:m eq 'mobilePhone') or methodsRegistered/any(m:m eq 'email')) and userType eq 'member'"
        ));
        assert!(m("not (isAdmin eq false)"));
        assert!(m("NOT isAdmin EQ false AND isSsprRegistered eq true"));
        assert!(m("methodsRegistered/any(x: x eq 'email' and isAdmin eq true)"));
    }

    #[test]
    fn quotes_and_precedence() {
        let mut u = user();
        u.user_principal_name = "o'brien1@contoso.com".into();
        let f = parse("userPrincipalName eq 'O''Brien1@contoso.com'", ApiVersion::V1).unwrap();
        assert!(f.matches(&u));
        // and binds tighter than or
        let f = parse("isAdmin eq false and isAdmin eq false or isAdmin eq true", ApiVersion::V1).unwrap();
        assert!(f.matches(&u));
        let f = parse("isAdmin eq false and (isAdmin eq false or isAdmin eq true)", ApiVersion::V1).unwrap();
        assert!(!f.matches(&u));
        u.is_admin = None;
        assert!(parse("isAdmin eq null", ApiVersion::V1).unwrap().matches(&u));
        assert!(parse("isAdmin ne true", ApiVersion::V1).unwrap().matches(&u));
        assert!(!parse("isAdmin eq false", ApiVersion::V1).unwrap().matches(&u));
    }

    #[test]
    fn rejections() {
        assert_eq!(err("systemPreferredAuthenticationMethods/any(m:m eq 'oath')"), FilterError::NonEntityType);
        for bad in [
            "",
            "isAdmin eq",
            "isAdmin eq 'yes'",
            "userType eq true",
            "foo eq 1",
            "defaultMfaMethod eq 'none'",
            "methodsRegistered eq 'email'",
            "endswith(userPrincipalName,'x')",
            "startswith(userType,'m')",
            "userPrincipalName gt 'a'",
            "userPrincipalName",
            "(isAdmin eq true",
            "isAdmin eq true)",
            "userPrincipalName eq 'unterminated",
            "methodsRegistered/any(x:x eq 'a' and methodsRegistered/any(y:y eq 'b'))",
            "methodsRegistered/count(x:x eq 'a')",
            "isAdmin eq true #",
            "userType in ('a',)",
            "lastUpdatedDateTime eq 'x'",
            "methodsRegistered/all()",
        ] {
            assert!(matches!(err(bad), FilterError::Invalid(_)), "{bad}");
        }
        let deep = format!("{}isAdmin{}", "(".repeat(500), ")".repeat(500));
        assert!(matches!(err(&deep), FilterError::Invalid(_)));
        let nots = format!("{}isAdmin", "not ".repeat(500));
        assert!(matches!(err(&nots), FilterError::Invalid(_)));
        assert!(matches!(err(&"a".repeat(5000)), FilterError::Invalid(_)));
        match err("isAdmin eq 'x'") {
            FilterError::Invalid(m) => assert!(m.contains("Edm.Boolean"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
