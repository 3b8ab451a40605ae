//! What the exporter must report, computed directly from the simulator's population with the rules
//! docs/metrics-guide.md states. Deliberately written without the exporter's code.

use std::collections::BTreeMap;

use graph_simulator::{Population, SimUser};

/// docs/metrics-guide.md: the phishing-resistant methods.
const PHISHING_RESISTANT: &[&str] = &[
    "fido2",
    "fido2SecurityKey",
    "passKeyDeviceBound",
    "passKeyDeviceBoundAuthenticator",
    "passKeyDeviceBoundWindowsHello",
    "passKeySynced",
    "windowsHelloForBusiness",
    "macOsSecureEnclaveKey",
    "x509Certificate",
    "certificateBasedAuthentication",
];

/// docs/metrics-guide.md and docs/configuration.md: the tier of a method (an index into
/// [`STRENGTHS`]) under the `[method_strength]` entries `overrides` (method, tier name), where `none`
/// takes a method out of every tier; without an entry, the default table.
fn tier(method: &str, overrides: &[(&str, &str)]) -> Option<usize> {
    if let Some((_, name)) = overrides.iter().find(|(m, _)| *m == method) {
        return STRENGTHS.iter().position(|s| s == name).filter(|&i| i < 4);
    }
    if PHISHING_RESISTANT.contains(&method) {
        return Some(0);
    }
    match method {
        "microsoftAuthenticatorPasswordless" => Some(1),
        "microsoftAuthenticatorPush" | "softwareOneTimePasscode" | "hardwareOneTimePasscode" | "externalAuthMethod" => {
            Some(2)
        }
        "mobilePhone" | "alternateMobilePhone" | "officePhone" => Some(3),
        _ => None,
    }
}

/// Every method the default tier table names (docs/metrics-guide.md): the phishing-resistant ones
/// and those of the lower tiers.
pub fn named_methods() -> impl Iterator<Item = &'static str> {
    PHISHING_RESISTANT.iter().copied().chain([
        "microsoftAuthenticatorPasswordless",
        "microsoftAuthenticatorPush",
        "softwareOneTimePasscode",
        "hardwareOneTimePasscode",
        "externalAuthMethod",
        "mobilePhone",
        "alternateMobilePhone",
        "officePhone",
    ])
}

/// The `strength` values, strongest first.
pub const STRENGTHS: [&str; 5] = ["phishingResistant", "passwordless", "mfa", "phone", "none"];

pub type Labels = BTreeMap<String, String>;

/// Expected value of every data series, by family.
#[derive(Debug, Default)]
pub struct Truth {
    pub users: BTreeMap<Labels, f64>,
    pub by_feature: BTreeMap<Labels, f64>,
    pub by_method: BTreeMap<Labels, f64>,
    pub by_default_method: BTreeMap<Labels, f64>,
    pub by_method_count: BTreeMap<Labels, f64>,
    pub by_strongest_method: BTreeMap<Labels, f64>,
    pub refresh_timestamp: Option<f64>,
    pub listed_users: usize,
}

fn labels(tenant: &str, t: &str, r: &str, extra: Option<(&str, &str)>) -> Labels {
    let mut l = Labels::new();
    l.insert("tenant".into(), tenant.into());
    l.insert("user_type".into(), t.into());
    l.insert("user_role".into(), r.into());
    if let Some((k, v)) = extra {
        l.insert(k.into(), v.into());
    }
    l
}

pub fn compute(tenant: &str, population: &Population) -> Truth {
    compute_full(tenant, population, &[], usize::MAX, &|_| true)
}

/// [`compute`] with `[method_strength]` entries (method, tier name) over the default tiers.
pub fn compute_with_strength(tenant: &str, population: &Population, overrides: &[(&str, &str)]) -> Truth {
    compute_full(tenant, population, overrides, usize::MAX, &|_| true)
}

/// A user's features (in the `feature` label's order) and strength tier, by the rules of
/// docs/metrics-guide.md, under the `[method_strength]` entries `overrides`.
pub fn features_and_strength(u: &SimUser, overrides: &[(&str, &str)]) -> ([(&'static str, bool); 8], &'static str) {
    let mut methods: Vec<&str> = u.methods_registered.iter().map(String::as_str).collect();
    methods.sort_unstable();
    methods.dedup();
    let features = [
        ("mfaCapable", u.is_mfa_capable),
        ("mfaRegistered", u.is_mfa_registered),
        ("ssprRegistered", u.is_sspr_registered),
        ("ssprEnabled", u.is_sspr_enabled),
        ("ssprCapable", u.is_sspr_capable),
        ("passwordlessCapable", u.is_passwordless_capable),
        ("systemPreferredMethodEnabled", u.system_preferred_enabled == Some(true)),
        ("phishingResistantCapable", methods.iter().any(|m| tier(m, overrides) == Some(0))),
    ];
    (features, STRENGTHS[methods.iter().filter_map(|m| tier(m, overrides)).min().unwrap_or(4)])
}

/// [`compute`] over the listed users `keep` accepts (by object id): the others are excluded.
pub fn compute_where(tenant: &str, population: &Population, keep: &dyn Fn(&str) -> bool) -> Truth {
    compute_full(tenant, population, &[], usize::MAX, keep)
}

/// docs/metrics.md: the documented `method` values of userRegistrationDetails and the default
/// strength tiers, never folded into `other` (see [`documented_method`] for every report's).
pub const DOCUMENTED_METHODS: &[&str] = &[
    "password",
    "email",
    "mobilePhone",
    "alternateMobilePhone",
    "officePhone",
    "securityQuestion",
    "microsoftAuthenticatorPush",
    "microsoftAuthenticatorPasswordless",
    "softwareOneTimePasscode",
    "hardwareOneTimePasscode",
    "fido2SecurityKey",
    "windowsHelloForBusiness",
    "temporaryAccessPass",
    "macOsSecureEnclaveKey",
    "passKeyDeviceBound",
    "passKeyDeviceBoundAuthenticator",
    "passKeyDeviceBoundWindowsHello",
    "passKeySynced",
    "externalAuthMethod",
    "fido2",
    "x509Certificate",
    "certificateBasedAuthentication",
];

/// Whether `m` is a documented `method` value of any report, never folded into `other`: the
/// details methods and the strength tiers' names ([`DOCUMENTED_METHODS`]), and the vocabularies the
/// simulator serves from its catalogs: `usageAuthMethod` (activity, event and legacy usage
/// reports), `registrationAuthMethod` (legacy registration details) and the sign-in summary's names.
pub fn documented_method(m: &str) -> bool {
    DOCUMENTED_METHODS.contains(&m)
        || graph_simulator::USAGE_AUTH_METHODS.contains(&m)
        || graph_simulator::REGISTRATION_AUTH_METHODS.contains(&m)
        || graph_simulator::SIGN_IN_METHODS.contains(&m)
}

/// The `method` values beyond the documented ones and the `[method_strength]` names that the
/// registration sweep admits under `max_method_values = cap`: the first `cap` distinct ones in the
/// order Graph lists them (users in table order, each user's methods in order).
pub fn admitted_methods(population: &Population, overrides: &[(&str, &str)], cap: usize) -> Vec<String> {
    let mut admitted: Vec<String> = Vec::new();
    for m in population.listed().flat_map(|u| &u.methods_registered) {
        if admitted.len() == cap {
            break;
        }
        let documented = documented_method(m) || overrides.iter().any(|(o, _)| o == m);
        if !documented && !m.is_empty() && !admitted.contains(m) {
            admitted.push(m.clone());
        }
    }
    admitted
}

/// [`compute_with_strength`] with `max_method_values = cap`: the methods beyond the documented ones,
/// the `[method_strength]` names and the admitted ones count as `other`, a user once however many
/// they have; the strength tiers and the methods-registered buckets see every method.
pub fn compute_bounded(tenant: &str, population: &Population, overrides: &[(&str, &str)], cap: usize) -> Truth {
    compute_full(tenant, population, overrides, cap, &|_| true)
}

/// [`compute`] under `[method_strength]` entries `overrides` and `max_method_values = cap`, over the
/// listed users `keep` accepts (the others are excluded).
pub fn compute_full(
    tenant: &str,
    population: &Population,
    overrides: &[(&str, &str)],
    cap: usize,
    keep: &dyn Fn(&str) -> bool,
) -> Truth {
    let admitted = if cap == usize::MAX { None } else { Some(admitted_methods(population, overrides, cap)) };
    let label = |m: &str| -> String {
        let kept = documented_method(m) || overrides.iter().any(|(o, _)| *o == m);
        match &admitted {
            Some(a) if !kept && !a.iter().any(|x| x == m) => "other".to_string(),
            _ => m.to_string(),
        }
    };
    let mut truth = Truth::default();
    let types = ["all", "member", "guest"];
    let roles = ["all", "admin", "user"];
    for t in types {
        for r in roles {
            truth.users.insert(labels(tenant, t, r, None), 0.0);
            for f in [
                "mfaCapable",
                "mfaRegistered",
                "ssprRegistered",
                "ssprEnabled",
                "ssprCapable",
                "passwordlessCapable",
                "systemPreferredMethodEnabled",
                "phishingResistantCapable",
            ] {
                truth.by_feature.insert(labels(tenant, t, r, Some(("feature", f))), 0.0);
            }
            for b in ["0", "1", "2", "3", "4+"] {
                truth.by_method_count.insert(labels(tenant, t, r, Some(("methods", b))), 0.0);
            }
            for s in STRENGTHS {
                truth.by_strongest_method.insert(labels(tenant, t, r, Some(("strength", s))), 0.0);
            }
        }
    }
    for u in population.users.iter().filter(|u| u.enabled && keep(&u.id)) {
        truth.listed_users += 1;
        if let Ok(ts) = time::OffsetDateTime::parse(&u.last_updated, &time::format_description::well_known::Rfc3339) {
            let secs = ts.unix_timestamp() as f64 + f64::from(ts.nanosecond()) * 1e-9;
            truth.refresh_timestamp = Some(truth.refresh_timestamp.map_or(secs, |m: f64| m.max(secs)));
        }
        let mut methods: Vec<&str> = u.methods_registered.iter().map(String::as_str).collect();
        methods.sort_unstable();
        methods.dedup();
        let (features, strength) = features_and_strength(u, overrides);
        let default = match u.default_method.as_deref() {
            None | Some("") => "unset",
            Some(m) => m,
        };
        let bucket = match methods.len() {
            0 => "0",
            1 => "1",
            2 => "2",
            3 => "3",
            _ => "4+",
        };
        let user_types = ["all"].into_iter().chain(match u.user_type.as_deref() {
            Some("member") => Some("member"),
            Some("guest") => Some("guest"),
            _ => None,
        });
        let role = if u.is_admin == Some(true) { "admin" } else { "user" };
        for t in user_types {
            for r in ["all", role] {
                *truth.users.get_mut(&labels(tenant, t, r, None)).unwrap() += 1.0;
                for (f, on) in features {
                    if on {
                        *truth.by_feature.get_mut(&labels(tenant, t, r, Some(("feature", f)))).unwrap() += 1.0;
                    }
                }
                let mut labelled: Vec<String> = methods.iter().map(|m| label(m)).collect();
                labelled.sort_unstable();
                labelled.dedup();
                for m in &labelled {
                    *truth.by_method.entry(labels(tenant, t, r, Some(("method", m)))).or_insert(0.0) += 1.0;
                }
                *truth.by_default_method.entry(labels(tenant, t, r, Some(("method", default)))).or_insert(0.0) += 1.0;
                *truth.by_method_count.get_mut(&labels(tenant, t, r, Some(("methods", bucket)))).unwrap() += 1.0;
                *truth.by_strongest_method.get_mut(&labels(tenant, t, r, Some(("strength", strength)))).unwrap() += 1.0;
            }
        }
    }
    truth
}
