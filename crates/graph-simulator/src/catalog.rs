//! The vocabulary of the simulated tenant: method names, role names and which methods count for
//! which feature. Public so tests can compute expected numbers with the same definitions the
//! simulator uses, instead of copying lists that could drift apart.

/// Directory roles that make a user a `privilegedAdmin` for `includedUserRoles`
/// (Microsoft Graph, "authenticationMethodsRoot: usersRegisteredByFeature"
/// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersregisteredbyfeature>)).
/// `SimUser::privileged_roles` only ever holds names from this list.
pub const PRIVILEGED_ROLES: [&str; 9] = [
    "Global Administrator",
    "Security Administrator",
    "Conditional Access Administrator",
    "Exchange Administrator",
    "SharePoint Administrator",
    "Helpdesk Administrator",
    "Billing Administrator",
    "User Administrator",
    "Authentication Administrator",
];

/// Every `methodsRegistered` value the simulator knows (Microsoft Graph, "userRegistrationDetails resource type"
/// (<https://learn.microsoft.com/graph/api/resources/userregistrationdetails>) and values seen in live tenants, without
/// `password`, which real rows never list). The order is the order the generator writes them in a row, and the order of
/// `usersRegisteredByMethod` counts.
pub const KNOWN_METHODS: [&str; 18] = [
    "email",
    "mobilePhone",
    "alternateMobilePhone",
    "officePhone",
    "securityQuestion",
    "macOsSecureEnclaveKey",
    "windowsHelloForBusiness",
    "passKeySynced",
    "microsoftAuthenticatorPasswordless",
    "passKeyDeviceBoundAuthenticator",
    "passKeyDeviceBoundWindowsHello",
    "passKeyDeviceBound",
    "fido2SecurityKey",
    "temporaryAccessPass",
    "hardwareOneTimePasscode",
    "externalAuthMethod",
    "microsoftAuthenticatorPush",
    "softwareOneTimePasscode",
];

/// A method name Graph might add one day, named so that nobody takes it for a real one. A few users
/// carry it so that clients prove they pass unknown strings through instead of failing or dropping
/// the row. It counts for no feature.
pub const FUTURE_METHODS: [&str; 1] = ["futureMethodExample"];

/// Methods that make a user MFA-registered (`isMfaRegistered`). Email, security questions and
/// Temporary Access Pass are not MFA methods; unknown future names count for nothing.
pub fn is_strong_mfa_method(method: &str) -> bool {
    matches!(
        method,
        "mobilePhone"
            | "alternateMobilePhone"
            | "officePhone"
            | "macOsSecureEnclaveKey"
            | "windowsHelloForBusiness"
            | "passKeySynced"
            | "microsoftAuthenticatorPasswordless"
            | "passKeyDeviceBoundAuthenticator"
            | "passKeyDeviceBoundWindowsHello"
            | "passKeyDeviceBound"
            | "fido2SecurityKey"
            | "hardwareOneTimePasscode"
            | "externalAuthMethod"
            | "microsoftAuthenticatorPush"
            | "softwareOneTimePasscode"
    )
}

/// Methods that make a user passwordless-capable when policy allows (FIDO2/passkeys, Windows Hello
/// for Business, Authenticator passwordless, platform credentials).
pub fn is_passwordless_method(method: &str) -> bool {
    matches!(
        method,
        "macOsSecureEnclaveKey"
            | "windowsHelloForBusiness"
            | "passKeySynced"
            | "microsoftAuthenticatorPasswordless"
            | "passKeyDeviceBoundAuthenticator"
            | "passKeyDeviceBoundWindowsHello"
            | "passKeyDeviceBound"
            | "fido2SecurityKey"
    )
}

/// Methods SSPR can use to verify a user (`isSsprRegistered` needs at least one).
pub fn is_sspr_method(method: &str) -> bool {
    matches!(
        method,
        "email"
            | "mobilePhone"
            | "alternateMobilePhone"
            | "officePhone"
            | "securityQuestion"
            | "microsoftAuthenticatorPasswordless"
            | "microsoftAuthenticatorPush"
            | "softwareOneTimePasscode"
            | "hardwareOneTimePasscode"
    )
}

/// Per-kind registration probabilities: (method, member, guest, admin). Admins adopt strong and
/// passwordless methods far more than the rest, guests far less, as in real tenants.
pub(crate) const METHOD_ODDS: [(&str, f64, f64, f64); 18] = [
    ("email", 0.22, 0.05, 0.30),
    ("mobilePhone", 0.50, 0.35, 0.55),
    ("alternateMobilePhone", 0.04, 0.01, 0.08),
    ("officePhone", 0.04, 0.0, 0.06),
    ("securityQuestion", 0.03, 0.0, 0.01),
    ("macOsSecureEnclaveKey", 0.01, 0.0, 0.05),
    ("windowsHelloForBusiness", 0.14, 0.0, 0.30),
    ("passKeySynced", 0.03, 0.02, 0.08),
    ("microsoftAuthenticatorPasswordless", 0.08, 0.01, 0.25),
    ("passKeyDeviceBoundAuthenticator", 0.04, 0.0, 0.15),
    ("passKeyDeviceBoundWindowsHello", 0.01, 0.0, 0.03),
    ("passKeyDeviceBound", 0.05, 0.0, 0.25),
    ("fido2SecurityKey", 0.04, 0.0, 0.30),
    ("temporaryAccessPass", 0.02, 0.0, 0.03),
    ("hardwareOneTimePasscode", 0.01, 0.0, 0.04),
    ("externalAuthMethod", 0.005, 0.0, 0.0),
    ("microsoftAuthenticatorPush", 0.68, 0.55, 0.90),
    ("softwareOneTimePasscode", 0.40, 0.25, 0.60),
];

/// (display form, ASCII form for the UPN). A few non-ASCII display names exercise UTF-8 handling.
pub(crate) const FIRST_NAMES: [(&str, &str); 40] = [
    ("Adele", "adele"),
    ("Alex", "alex"),
    ("Allan", "allan"),
    ("Bianca", "bianca"),
    ("Christie", "christie"),
    ("Debra", "debra"),
    ("Diego", "diego"),
    ("Emily", "emily"),
    ("Enrico", "enrico"),
    ("Grady", "grady"),
    ("Henrietta", "henrietta"),
    ("Irvin", "irvin"),
    ("Isaiah", "isaiah"),
    ("Johanna", "johanna"),
    ("Joni", "joni"),
    ("Lee", "lee"),
    ("Lidia", "lidia"),
    ("Lynne", "lynne"),
    ("Megan", "megan"),
    ("Miriam", "miriam"),
    ("Nestor", "nestor"),
    ("Patti", "patti"),
    ("Pradeep", "pradeep"),
    ("Zoë", "zoe"),
    ("José", "jose"),
    ("Łukasz", "lukasz"),
    ("Søren", "soren"),
    ("Aiko", "aiko"),
    ("Mateo", "mateo"),
    ("Priya", "priya"),
    ("Chen", "chen"),
    ("Fatima", "fatima"),
    ("Olga", "olga"),
    ("Kwame", "kwame"),
    ("Ingrid", "ingrid"),
    ("Ravi", "ravi"),
    ("Sofía", "sofia"),
    ("Yuki", "yuki"),
    ("Noah", "noah"),
    ("Amara", "amara"),
];

/// Last names; `O'Brien` keeps its apostrophe in the UPN so `$filter` quoting (`''`) gets exercised.
pub(crate) const LAST_NAMES: [(&str, &str); 40] = [
    ("Vance", "vance"),
    ("Wilber", "wilber"),
    ("Deyoung", "deyoung"),
    ("Pisani", "pisani"),
    ("Cline", "cline"),
    ("Berg", "berg"),
    ("Siciliani", "siciliani"),
    ("Braun", "braun"),
    ("Gastaldi", "gastaldi"),
    ("Archie", "archie"),
    ("Cueva", "cueva"),
    ("Mudiam", "mudiam"),
    ("Lee", "lee"),
    ("Lauer", "lauer"),
    ("Sherman", "sherman"),
    ("Gonzalez", "gonzalez"),
    ("Holloway", "holloway"),
    ("Robichaux", "robichaux"),
    ("Bowen", "bowen"),
    ("Hunter", "hunter"),
    ("Garcia", "garcia"),
    ("Wilke", "wilke"),
    ("Gupta", "gupta"),
    ("Müller", "muller"),
    ("Nakamura", "nakamura"),
    ("Okafor", "okafor"),
    ("Ivanova", "ivanova"),
    ("Kowalski", "kowalski"),
    ("Andersen", "andersen"),
    ("Haddad", "haddad"),
    ("Schmidt", "schmidt"),
    ("Rossi", "rossi"),
    ("Tanaka", "tanaka"),
    ("Silva", "silva"),
    ("Dubois", "dubois"),
    ("Novak", "novak"),
    ("O'Brien", "o'brien"),
    ("Fernández", "fernandez"),
    ("Kim", "kim"),
    ("Patel", "patel"),
];

/// Home domains of guest users, used in the `#EXT#` UPN form.
pub(crate) const GUEST_DOMAINS: [&str; 5] =
    ["fabrikam.com", "northwindtraders.com", "tailspintoys.com", "gmail.com", "outlook.com"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_agree() {
        for (m, ..) in METHOD_ODDS {
            assert!(KNOWN_METHODS.contains(&m), "{m}");
        }
        for m in KNOWN_METHODS {
            if is_passwordless_method(m) {
                assert!(is_strong_mfa_method(m), "{m}");
            }
        }
        for m in FUTURE_METHODS {
            assert!(!is_strong_mfa_method(m) && !is_sspr_method(m) && !is_passwordless_method(m));
        }
        assert!(!is_strong_mfa_method("email") && is_sspr_method("email"));
        assert!(!is_strong_mfa_method("temporaryAccessPass"));
    }
}
