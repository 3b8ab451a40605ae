//! `$filter` for userRegistrationDetails on the schema-driven parser, in its
//! [`Dialect::Registration`]: the forms Graph documents or community tools use against live tenants
//! (Microsoft Graph, "List userRegistrationDetails"
//! (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-userregistrationdetails>), "Optional query
//! parameters"): `eq`/`ne` on the booleans, `eq`/`ne`/`in`/`startswith` (case-insensitive) on the string properties,
//! `methodsRegistered/any(x: x eq 'email')` with any variable name, `/all(...)`, `/any()`, `and`/`or`/`not` and
//! parentheses. Anything else is rejected with the 400 a client would get from Graph, so tests notice a client building
//! unsupported filters; any lambda over `systemPreferredAuthenticationMethods` fails with Graph's UnknownError.

use super::odata_filter::{
    self, ALL, ANY, Dialect, EQ, Expr, Field, FilterError, IN, NE, NON_ENTITY, Record, STARTS, Schema, Ty, Val,
};
use super::population::SimUser;
use super::rows::{ApiVersion, default_mfa_method};

const BOOL: u8 = EQ | NE;
const STR: u8 = EQ | NE | IN;

/// Beta-only `defaultMfaMethod` comes last, so v1.0 is the same list without it.
const FIELDS: &[Field] = &[
    Field { name: "isAdmin", ty: Ty::Bool, ops: BOOL },
    Field { name: "isMfaCapable", ty: Ty::Bool, ops: BOOL },
    Field { name: "isMfaRegistered", ty: Ty::Bool, ops: BOOL },
    Field { name: "isPasswordlessCapable", ty: Ty::Bool, ops: BOOL },
    Field { name: "isSsprCapable", ty: Ty::Bool, ops: BOOL },
    Field { name: "isSsprEnabled", ty: Ty::Bool, ops: BOOL },
    Field { name: "isSsprRegistered", ty: Ty::Bool, ops: BOOL },
    Field { name: "isSystemPreferredAuthenticationMethodEnabled", ty: Ty::Bool, ops: BOOL },
    Field { name: "id", ty: Ty::Str, ops: STR },
    Field { name: "userPrincipalName", ty: Ty::Str, ops: STR | STARTS },
    Field { name: "userDisplayName", ty: Ty::Str, ops: STR | STARTS },
    Field { name: "userType", ty: Ty::Str, ops: STR },
    Field { name: "userPreferredMethodForSecondaryAuthentication", ty: Ty::Str, ops: STR },
    Field { name: "methodsRegistered", ty: Ty::List, ops: ANY | ALL },
    Field { name: "systemPreferredAuthenticationMethods", ty: Ty::List, ops: NON_ENTITY },
    // Known but not filterable: "filtering on lastUpdatedDateTime is not supported".
    Field { name: "lastUpdatedDateTime", ty: Ty::Str, ops: 0 },
    Field { name: "defaultMfaMethod", ty: Ty::Str, ops: STR },
];

const TYPE_NAME: &str = "microsoft.graph.userRegistrationDetails";
static V1: Schema = Schema { type_name: TYPE_NAME, fields: FIELDS.split_at(FIELDS.len() - 1).0 };
static BETA: Schema = Schema { type_name: TYPE_NAME, fields: FIELDS };

/// Parse a `$filter` value for the given API version (beta knows `defaultMfaMethod`).
pub(crate) fn parse(input: &str, version: ApiVersion) -> Result<Expr, FilterError> {
    let schema = match version {
        ApiVersion::V1 => &V1,
        ApiVersion::Beta => &BETA,
    };
    odata_filter::parse_in(input, schema, Dialect::Registration)
}

impl Record for SimUser {
    fn get(&self, field: usize) -> Val<'_> {
        match field {
            0 => Val::Bool(self.is_admin),
            1 => Val::Bool(Some(self.is_mfa_capable)),
            2 => Val::Bool(Some(self.is_mfa_registered)),
            3 => Val::Bool(Some(self.is_passwordless_capable)),
            4 => Val::Bool(Some(self.is_sspr_capable)),
            5 => Val::Bool(Some(self.is_sspr_enabled)),
            6 => Val::Bool(Some(self.is_sspr_registered)),
            7 => Val::Bool(self.system_preferred_enabled),
            8 => Val::Str(Some(&self.id)),
            9 => Val::Str(Some(&self.user_principal_name)),
            10 => Val::Str(Some(&self.user_display_name)),
            11 => Val::Str(self.user_type.as_deref()),
            12 => Val::Str(self.default_method.as_deref()),
            13 => Val::List(self.methods_registered.iter().map(String::as_str).collect()),
            14 => Val::List(self.system_preferred_methods.iter().map(String::as_str).collect()),
            15 => Val::Str(Some(&self.last_updated)),
            16 => Val::Str(default_mfa_method(self)),
            _ => Val::Str(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Population;

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
