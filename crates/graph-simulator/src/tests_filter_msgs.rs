//! The exact 400 texts of userRegistrationDetails `$filter` refusals (Microsoft Graph, "List userRegistrationDetails"
//! (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-userregistrationdetails>)): clients and tests
//! match on them, so the parser behind the endpoint must keep them byte for byte.

use super::query::{QueryError, parse_list_query};
use super::rows::ApiVersion::{self, Beta, V1};

/// (version, filter, answer): "OK", "NONENTITY" (the UnknownError bug) or the 400 message.
const CASES: &[(ApiVersion, &str, &str)] = &[
    (V1, r#"isAdmin gt true"#, r#"Invalid filter clause: the 'gt' operator is not supported."#),
    (V1, r#"userType gt 'a'"#, r#"Invalid filter clause: the 'gt' operator is not supported."#),
    (V1, r#"isAdmin foo true"#, r#"Syntax error at position 8 in 'isAdmin foo true'."#),
    (V1, r#"isAdmin in (true)"#, r#"Syntax error at position 8 in 'isAdmin in (true)'."#),
    (
        V1,
        r#"userType in ('a', true)"#,
        r#"A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Boolean' for operator kind 'In'."#,
    ),
    (V1, r#"userType in ('a',)"#, r#"Syntax error at position 17 in 'userType in ('a',)'."#),
    (V1, r#"userType and isAdmin"#, r#"The $filter expression must evaluate to a single boolean value."#),
    (V1, r#"userType"#, r#"Syntax error at position 8 in 'userType'."#),
    (V1, r#"userType foo 'x'"#, r#"Syntax error at position 9 in 'userType foo 'x''."#),
    (V1, r#"isAdmin eq 1"#, r#"Syntax error at position 11 in 'isAdmin eq 1'."#),
    (V1, r#"isAdmin eq yes"#, r#"Syntax error at position 11 in 'isAdmin eq yes'."#),
    (
        V1,
        r#"isAdmin eq 'x'"#,
        r#"A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'."#,
    ),
    (
        V1,
        r#"userType eq true"#,
        r#"A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Boolean' for operator kind 'Equal'."#,
    ),
    (
        V1,
        r#"user-type eq 'x'"#,
        r#"Could not find a property named 'user-type' on type 'microsoft.graph.userRegistrationDetails'."#,
    ),
    (
        V1,
        r#".foo eq 'x'"#,
        r#"Could not find a property named '.foo' on type 'microsoft.graph.userRegistrationDetails'."#,
    ),
    (
        V1,
        r#"defaultMfaMethod eq 'none'"#,
        r#"Could not find a property named 'defaultMfaMethod' on type 'microsoft.graph.userRegistrationDetails'."#,
    ),
    (Beta, r#"defaultMfaMethod eq 1"#, r#"Syntax error at position 20 in 'defaultMfaMethod eq 1'."#),
    (
        V1,
        r#"methodsRegistered"#,
        r#"The collection property 'methodsRegistered' can only be filtered with any() or all()."#,
    ),
    (
        V1,
        r#"methodsRegistered eq 'email'"#,
        r#"The collection property 'methodsRegistered' can only be filtered with any() or all()."#,
    ),
    (
        V1,
        r#"systemPreferredAuthenticationMethods eq 'x'"#,
        r#"The collection property 'systemPreferredAuthenticationMethods' can only be filtered with any() or all()."#,
    ),
    (
        V1,
        r#"systemPreferredAuthenticationMethods/$count eq 1"#,
        r#"The collection property 'systemPreferredAuthenticationMethods' can only be filtered with any() or all()."#,
    ),
    (V1, r#"systemPreferredAuthenticationMethods/all(x: x eq 'a')"#, r#"NONENTITY"#),
    (V1, r#"methodsRegistered/$count eq 1"#, r#"Invalid filter clause: $count in $filter is not supported."#),
    (
        V1,
        r#"methodsRegistered/count(x:x eq 'a')"#,
        r#"Invalid filter clause: 'methodsRegistered/count' is not supported."#,
    ),
    (V1, r#"methodsRegistered/all()"#, r#"Syntax error at position 23 in 'methodsRegistered/all()'."#),
    (
        V1,
        r#"methodsRegistered/all() and isAdmin"#,
        r#"Syntax error at position 24 in 'methodsRegistered/all() and isAdmin'."#,
    ),
    (
        V1,
        r#"methodsRegistered/any(x:x eq 'a' and methodsRegistered/any(y:y eq 'b'))"#,
        r#"Invalid filter clause: a lambda inside a lambda is not supported."#,
    ),
    (V1, r#"methodsRegistered/any(x:x/any(y:y eq 'a'))"#, r#"Invalid filter clause: 'x/any' is not supported."#),
    (V1, r#"methodsRegistered/any(x:x gt 'a')"#, r#"Invalid filter clause: the 'gt' operator is not supported."#),
    (V1, r#"methodsRegistered/any(x:startswith(x,'mob'))"#, r#"OK"#),
    (V1, r#"isAdmin/any(x:x eq 'a')"#, r#"Invalid filter clause: 'isAdmin/any' is not supported."#),
    (
        V1,
        r#"foo/any(x:x eq 'a')"#,
        r#"Could not find a property named 'foo' on type 'microsoft.graph.userRegistrationDetails'."#,
    ),
    (V1, r#"foo/"#, r#"Syntax error at position 4 in 'foo/'."#),
    (V1, r#"methodsRegistered/"#, r#"Syntax error at position 18 in 'methodsRegistered/'."#),
    (
        V1,
        r#"lastUpdatedDateTime eq 'x'"#,
        r#"Invalid filter clause: filtering on lastUpdatedDateTime is not supported."#,
    ),
    (
        V1,
        r#"LASTUPDATEDDATETIME gt 'x'"#,
        r#"Invalid filter clause: filtering on lastUpdatedDateTime is not supported."#,
    ),
    (
        V1,
        r#"startswith(lastUpdatedDateTime,'x')"#,
        r#"Invalid filter clause: filtering on lastUpdatedDateTime is not supported."#,
    ),
    (V1, r#"startswith(userType,'m')"#, r#"Invalid filter clause: startswith on 'userType' is not supported."#),
    (V1, r#"startswith(isAdmin,'m')"#, r#"Invalid filter clause: startswith on 'isAdmin' is not supported."#),
    (
        V1,
        r#"startswith(methodsRegistered,'m')"#,
        r#"The collection property 'methodsRegistered' can only be filtered with any() or all()."#,
    ),
    (
        V1,
        r#"startswith(nope,'m')"#,
        r#"Could not find a property named 'nope' on type 'microsoft.graph.userRegistrationDetails'."#,
    ),
    (
        V1,
        r#"startswith(userPrincipalName,null)"#,
        r#"A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Boolean' for operator kind 'StartsWith'."#,
    ),
    (
        V1,
        r#"startswith(userPrincipalName,true)"#,
        r#"A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Boolean' for operator kind 'StartsWith'."#,
    ),
    (V1, r#"startswith(userPrincipalName,x)"#, r#"Syntax error at position 29 in 'startswith(userPrincipalName,x)'."#),
    (
        V1,
        r#"startswith(userPrincipalName,'a') eq 'x'"#,
        r#"A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'."#,
    ),
    (
        V1,
        r#"startswith(userPrincipalName,'a') eq null"#,
        r#"A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'."#,
    ),
    (
        V1,
        r#"startswith(userPrincipalName,'a') ne yes"#,
        r#"Syntax error at position 37 in 'startswith(userPrincipalName,'a') ne yes'."#,
    ),
    (V1, r#"endswith(userPrincipalName,'x')"#, r#"Invalid filter clause: the function 'endswith' is not supported."#),
    (V1, r#"isAdmin eq true #"#, r#"Syntax error at position 16 in 'isAdmin eq true #'."#),
    (
        V1,
        r#"userPrincipalName eq 'unterminated"#,
        r#"Syntax error at position 21 in 'userPrincipalName eq 'unterminated'."#,
    ),
    (V1, r#"(isAdmin eq true"#, r#"Syntax error at position 16 in '(isAdmin eq true'."#),
    (V1, r#"isAdmin eq true)"#, r#"Syntax error at position 15 in 'isAdmin eq true)'."#),
    (V1, r#""#, r#"The $filter expression must not be empty."#),
    (V1, r#"   "#, r#"The $filter expression must not be empty."#),
    (V1, r#"not"#, r#"Syntax error at position 3 in 'not'."#),
    (V1, r#"isAdmin eq"#, r#"Syntax error at position 10 in 'isAdmin eq'."#),
    (V1, r#"userType eq x'abc'"#, r#"Syntax error at position 12 in 'userType eq x'abc''."#),
    (V1, r#"isAdmin, isAdmin"#, r#"Syntax error at position 7 in 'isAdmin, isAdmin'."#),
    (
        V1,
        r#"lastUpdatedDateTime/any(x:x eq 'a')"#,
        r#"Invalid filter clause: filtering on lastUpdatedDateTime is not supported."#,
    ),
];

#[test]
fn registration_filter_answers_are_pinned() {
    for (version, filter, want) in CASES {
        let query = format!("$filter={}", filter.replace('#', "%23"));
        let got = match parse_list_query(Some(&query), *version, "t") {
            Ok(_) => "OK".to_owned(),
            Err(QueryError::NonEntityType) => "NONENTITY".to_owned(),
            Err(QueryError::Bad(m)) => m,
        };
        assert_eq!(&got, want, "{version:?} {filter}");
    }
}
