//! The simulated tenant: one table of users from which every report answer is computed, so the
//! reports agree with each other and tests can compute the truth with a few lines over the same
//! table (design.md, "The simulator's population").

use std::time::Duration;

use time::OffsetDateTime;

use super::catalog::{
    FIRST_NAMES, FUTURE_METHODS, GUEST_DOMAINS, LAST_NAMES, METHOD_ODDS, PRIVILEGED_ROLES, is_passwordless_method,
    is_sspr_method, is_strong_mfa_method,
};
use super::event_gen;
use super::events::{self, SimEvent};
use super::rng::{SplitMix64, hash_str};
use super::timefmt::iso_utc;

/// One user of the tenant. A `userRegistrationDetails` row is derived from it; fields are public so
/// tests can build or mutate populations freely (the simulator serves whatever it is given, even
/// inconsistent flags). Use [`SimUser::set_methods`] to change methods and keep the flags coherent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimUser {
    /// Object id (a GUID string), the key of the single-entity GET.
    pub id: String,
    pub user_principal_name: String,
    pub user_display_name: String,
    /// `"member"`, `"guest"`, occasionally `"unknownFutureValue"`, or `None` (served as `null`),
    /// because `signInUserType` is nullable and evolvable and clients must cope with all of them.
    pub user_type: Option<String>,
    /// Mostly `Some`; a few `None` (served as `null`) because the property is nullable in CSDL.
    pub is_admin: Option<bool>,
    /// Disabled users are omitted from every listing and count (Microsoft Graph, "List userRegistrationDetails"
    /// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-userregistrationdetails>)).
    pub enabled: bool,
    /// Names from [`super::PRIVILEGED_ROLES`]; non-empty only for admins.
    pub privileged_roles: Vec<String>,
    /// Exact Graph strings, including unknown future names; empty for users with none.
    pub methods_registered: Vec<String>,
    /// `userPreferredMethodForSecondaryAuthentication`: `push`, `oath`, `voiceMobile`, `sms`, …,
    /// `none`, sometimes `""` and sometimes `None` (`null`), as seen in real payloads.
    pub default_method: Option<String>,
    pub system_preferred_enabled: Option<bool>,
    /// Open string list: documented camelCase values (`push`) and observed PascalCase ones
    /// (`PhoneAppNotification`, `Fido2`).
    pub system_preferred_methods: Vec<String>,
    pub is_mfa_registered: bool,
    pub is_mfa_capable: bool,
    pub is_passwordless_capable: bool,
    pub is_sspr_registered: bool,
    pub is_sspr_enabled: bool,
    pub is_sspr_capable: bool,
    /// Served verbatim as `lastUpdatedDateTime`; mostly seven fractional digits, some with none.
    pub last_updated: String,
}

/// An immutable snapshot of a tenant. The simulator serves `Arc<Population>` so a page being
/// written never blocks a test replacing the population, and pages never copy the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    /// All users, disabled ones included (they are skipped when serving).
    pub users: Vec<SimUser>,
    /// When the simulated report refresh finished; rows' `last_updated` lie within the few
    /// seconds before it (never in the future, so data-age metrics are never negative). It is
    /// also the clock of the activity reports: their `d1`/`d7`/`d30` windows and daily rows end here.
    pub refreshed_at: OffsetDateTime,
    /// The activity log the activity reports are computed from, sorted by `at` (see
    /// [`SimEvent`]). Tests that edit it should keep it sorted ([`Population::sort_events`]);
    /// `RunningSimulator::set_population` sorts it anyway.
    pub events: Vec<SimEvent>,
    /// Feature names Microsoft might add to `usersRegisteredByFeature` one day, served after the five
    /// documented ones (empty unless a test sets it): the `j`-th one counts the users in scope whose
    /// number of registered methods leaves the remainder `j % 3` when divided by 3
    /// ([`Population::invented_feature_has`]), so a client's summary stays checkable from the population.
    pub invented_features: Vec<String>,
}

/// Refresh time used by [`Population::generate`], so a seed alone fixes every byte of the result.
/// (The running simulator uses the current time instead; see `generate_at`.)
const FIXED_REFRESH_UNIX: i64 = 1_784_171_761; // 2026-07-16T03:16:01Z, the live fixture's refresh

/// Rows are stamped within this span before the refresh time, like a refresh job walking the table.
const ROW_SPREAD_NANOS: u64 = 2_500_000_000;

impl Population {
    /// Whether `user` counts toward the `j`-th of [`Population::invented_features`].
    pub fn invented_feature_has(j: usize, user: &SimUser) -> bool {
        user.methods_registered.len() % 3 == j % 3
    }

    /// A deterministic tenant of `users` users (disabled ones included: about 2% of them are
    /// disabled and therefore not listed), with its activity log (`events`, see [`SimEvent`]). User `i` depends only on (`seed`, `i`), so a larger
    /// population extends a smaller one with the same seed. One million users take a few seconds
    /// (generation is spread over the available cores).
    pub fn generate(users: usize, seed: u64) -> Population {
        let at = OffsetDateTime::from_unix_timestamp(FIXED_REFRESH_UNIX).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Self::generate_at(users, seed, at)
    }

    /// Same users as [`Population::generate`], with the report refreshed at `refreshed_at`
    /// (only `last_updated` and `refreshed_at` differ). The running simulator uses "now" so the
    /// demo's data-age metrics look live.
    pub fn generate_at(users: usize, seed: u64, refreshed_at: OffsetDateTime) -> Population {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 16);
        let threads = if users < 20_000 { 1 } else { threads };
        let chunk = users.div_ceil(threads.max(1)).max(1);
        let scale = event_gen::sign_in_scale(users);
        // Users and their activity for one range of indices.
        let part = |start: usize, end: usize| {
            let mut us = Vec::with_capacity(end.saturating_sub(start));
            let mut evs = Vec::new();
            for i in start..end {
                let u = generate_user(seed, i as u64, refreshed_at);
                event_gen::user_events(seed, i as u64, &u, refreshed_at, scale, &mut evs);
                us.push(u);
            }
            (us, evs)
        };
        let (out, mut log) = if threads == 1 {
            part(0, users)
        } else {
            let parts: Vec<(Vec<SimUser>, Vec<SimEvent>)> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let start = (t * chunk).min(users);
                        let end = ((t + 1) * chunk).min(users);
                        s.spawn(move || part(start, end))
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
            });
            let mut out: Vec<SimUser> = Vec::with_capacity(users);
            let mut log = Vec::with_capacity(parts.iter().map(|p| p.1.len()).sum());
            for (u, e) in parts {
                out.extend(u);
                log.extend(e);
            }
            (out, log)
        };
        events::sort(&mut log);
        Population { users: out, refreshed_at, events: log, invented_features: Vec::new() }
    }

    /// Gives every `every`-th user one more registered method, taken from `methods` in turn (the
    /// first such user gets `methods[0]`, the next `methods[1]`, …), and recomputes their derived
    /// fields. For tests that need methods the generator writes rarely or never: legacy spellings,
    /// undocumented ones, names Graph might add (see [`Population::invented_methods`]).
    pub fn add_methods(&mut self, methods: &[String], every: usize) {
        if methods.is_empty() {
            return;
        }
        for (k, u) in self.users.iter_mut().step_by(every.max(1)).enumerate() {
            let mut registered = u.methods_registered.clone();
            registered.push(methods[k % methods.len()].clone());
            u.set_methods(registered);
        }
    }

    /// `count` distinct method names no documentation knows (`inventedMethod0`, `inventedMethod1`,
    /// …): what a Graph sending ever new values would look like, for clients' label bounds.
    pub fn invented_methods(count: usize) -> Vec<String> {
        (0..count).map(|i| format!("inventedMethod{i}")).collect()
    }

    /// Restore the time order of `events` after editing them (stable: equal times keep their order).
    pub fn sort_events(&mut self) {
        events::sort(&mut self.events);
    }

    /// The users `userRegistrationDetails` lists: enabled ones, in table order.
    pub fn listed(&self) -> impl Iterator<Item = &SimUser> {
        self.users.iter().filter(|u| u.enabled)
    }

    /// Number of listed (enabled) users: the expected row count of an unfiltered listing.
    pub fn listed_count(&self) -> usize {
        self.users.iter().filter(|u| u.enabled).count()
    }
}

/// Tenant policy for one user, derived from the id so it survives method changes: whether the
/// authentication-methods policy lets them use MFA and passwordless methods they registered.
fn policy(id: &str) -> (bool, bool) {
    let h = hash_str(id, 0x5eed_0f90_11c7);
    (h % 100 < 96, (h / 100) % 100 < 90)
}

impl SimUser {
    /// Replace the registered methods and recompute every derived field (MFA/SSPR/passwordless
    /// flags, default and system-preferred methods) so the row stays internally consistent.
    /// `is_sspr_enabled` is policy, not derived, and is kept.
    pub fn set_methods(&mut self, methods: Vec<String>) {
        self.methods_registered = methods;
        self.recompute_flags();
        self.recompute_defaults();
    }

    /// Derive the capability flags from the methods, the per-user policy and `is_sspr_enabled`.
    pub fn recompute_flags(&mut self) {
        let (mfa_allowed, passwordless_allowed) = policy(&self.id);
        let has = |f: fn(&str) -> bool| self.methods_registered.iter().any(|m| f(m));
        self.is_mfa_registered = has(is_strong_mfa_method);
        self.is_mfa_capable = self.is_mfa_registered && mfa_allowed;
        self.is_passwordless_capable = has(is_passwordless_method) && passwordless_allowed;
        self.is_sspr_registered = has(is_sspr_method);
        self.is_sspr_capable = self.is_sspr_registered && self.is_sspr_enabled;
    }

    /// Choose a default method and the system-preferred list consistent with the methods (push only
    /// with Authenticator, oath only with an OTP method, …). Deterministic per (id, methods).
    pub fn recompute_defaults(&mut self) {
        let mut salt = 0xdef0_u64;
        for m in &self.methods_registered {
            salt = hash_str(m, salt);
        }
        let mut rng = SplitMix64::for_stream(hash_str(&self.id, 0x0def_a017), salt);
        let has = |m: &str| self.methods_registered.iter().any(|x| x == m);
        let mut candidates: Vec<&str> = Vec::new();
        if has("microsoftAuthenticatorPush") || has("microsoftAuthenticatorPasswordless") {
            candidates.push("push");
        }
        if has("softwareOneTimePasscode") || has("hardwareOneTimePasscode") {
            candidates.push("oath");
        }
        if has("mobilePhone") {
            candidates.push("sms");
            candidates.push("voiceMobile");
        }
        if has("alternateMobilePhone") {
            candidates.push("voiceAlternateMobile");
        }
        if has("officePhone") {
            candidates.push("voiceOffice");
        }
        self.default_method = if candidates.is_empty() {
            match rng.below(10) {
                0..=4 => Some("none".to_owned()),
                5..=7 => Some(String::new()),
                _ => None,
            }
        } else if rng.chance(0.03) {
            Some(String::new())
        } else if rng.chance(0.75) {
            Some(candidates[0].to_owned())
        } else {
            Some((*rng.pick(&candidates)).to_owned())
        };

        let fido = ["fido2SecurityKey", "passKeyDeviceBound", "passKeyDeviceBoundAuthenticator", "passKeySynced"]
            .iter()
            .any(|m| has(m));
        let pascal = rng.chance(0.5);
        let preferred = if fido {
            Some("Fido2")
        } else if has("microsoftAuthenticatorPush") || has("microsoftAuthenticatorPasswordless") {
            Some(if pascal { "PhoneAppNotification" } else { "push" })
        } else if has("softwareOneTimePasscode") || has("hardwareOneTimePasscode") {
            Some("oath")
        } else if has("mobilePhone") {
            Some("sms")
        } else if has("alternateMobilePhone") {
            Some("voiceAlternateMobile")
        } else if has("officePhone") {
            Some("voiceOffice")
        } else {
            None
        };
        self.system_preferred_methods = preferred.map(|p| vec![p.to_owned()]).unwrap_or_default();
    }
}

/// Format a row timestamp: the refresh time minus `offset_nanos`, seven digits or (1%) none.
pub(crate) fn row_timestamp(refreshed_at: OffsetDateTime, offset_nanos: u64, with_fraction: bool) -> String {
    iso_utc(refreshed_at - Duration::from_nanos(offset_nanos), with_fraction)
}

fn generate_user(seed: u64, index: u64, refreshed_at: OffsetDateTime) -> SimUser {
    let mut r = SplitMix64::for_stream(seed, index);
    let id =
        uuid::Builder::from_random_bytes(((u128::from(r.next_u64()) << 64) | u128::from(r.next_u64())).to_be_bytes())
            .into_uuid()
            .to_string();
    let (first, first_ascii) = *r.pick(&FIRST_NAMES);
    let (last, last_ascii) = *r.pick(&LAST_NAMES);

    let guest = r.chance(0.15);
    let user_type = match r.below(1000) {
        0..=4 => None,
        5..=6 => Some("unknownFutureValue".to_owned()),
        _ => Some(if guest { "guest" } else { "member" }.to_owned()),
    };
    let (upn, display) = if guest {
        let domain = *r.pick(&GUEST_DOMAINS);
        (
            format!("{first_ascii}.{last_ascii}{index}_{domain}#EXT#@contoso.onmicrosoft.com",),
            format!("{first} {last} ({domain})"),
        )
    } else {
        (format!("{first_ascii}.{last_ascii}{index}@contoso.com"), format!("{first} {last}"))
    };
    let enabled = !r.chance(0.02);
    let admin = r.chance(if guest { 0.005 } else { 0.035 });
    let is_admin = if r.chance(0.004) { None } else { Some(admin) };
    let mut privileged_roles = Vec::new();
    if is_admin == Some(true) && r.chance(0.6) {
        // Global Administrator is over-represented in real tenants.
        let role = if r.chance(0.3) { PRIVILEGED_ROLES[0] } else { *r.pick(&PRIVILEGED_ROLES) };
        privileged_roles.push(role.to_owned());
        if r.chance(0.25) {
            let second = *r.pick(&PRIVILEGED_ROLES);
            if second != role {
                privileged_roles.push(second.to_owned());
            }
        }
    }

    let none_odds = if admin {
        0.0
    } else if guest {
        0.10
    } else {
        0.04
    };
    let mut methods = Vec::new();
    if !r.chance(none_odds) {
        for (m, member, guest_p, admin_p) in METHOD_ODDS {
            let p = if admin {
                admin_p
            } else if guest {
                guest_p
            } else {
                member
            };
            if r.chance(p) {
                methods.push(m.to_owned());
            }
        }
        if methods.is_empty() {
            // Users outside the "no methods" share have at least something registered.
            let fallback = ["microsoftAuthenticatorPush", "mobilePhone", "email"];
            methods.push((*r.pick(&fallback)).to_owned());
        }
        if r.chance(0.004) {
            methods.push((*r.pick(&FUTURE_METHODS)).to_owned());
        }
    }

    let is_sspr_enabled = r.chance(if guest { 0.3 } else { 0.85 });
    let system_preferred_enabled = match r.below(100) {
        0..=84 => Some(true),
        85..=94 => Some(false),
        _ => None,
    };
    let with_fraction = !r.chance(0.01);
    let offset = r.below(ROW_SPREAD_NANOS);
    let mut user = SimUser {
        id,
        user_principal_name: upn,
        user_display_name: display,
        user_type,
        is_admin,
        enabled,
        privileged_roles,
        methods_registered: Vec::new(),
        default_method: None,
        system_preferred_enabled,
        system_preferred_methods: Vec::new(),
        is_mfa_registered: false,
        is_mfa_capable: false,
        is_passwordless_capable: false,
        is_sspr_registered: false,
        is_sspr_enabled,
        is_sspr_capable: false,
        last_updated: row_timestamp(refreshed_at, offset, with_fraction),
    };
    user.set_methods(methods);
    user
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consistent(u: &SimUser) {
        let strong = u.methods_registered.iter().any(|m| is_strong_mfa_method(m));
        assert_eq!(u.is_mfa_registered, strong, "{u:?}");
        assert!(!u.is_mfa_capable || u.is_mfa_registered, "{u:?}");
        let pwl = u.methods_registered.iter().any(|m| is_passwordless_method(m));
        assert!(!u.is_passwordless_capable || pwl, "{u:?}");
        let sspr = u.methods_registered.iter().any(|m| is_sspr_method(m));
        assert_eq!(u.is_sspr_registered, sspr, "{u:?}");
        assert_eq!(u.is_sspr_capable, u.is_sspr_registered && u.is_sspr_enabled, "{u:?}");
        let has = |m: &str| u.methods_registered.iter().any(|x| x == m);
        match u.default_method.as_deref() {
            Some("push") => assert!(has("microsoftAuthenticatorPush") || has("microsoftAuthenticatorPasswordless")),
            Some("oath") => {
                assert!(has("softwareOneTimePasscode") || has("hardwareOneTimePasscode"))
            }
            Some("sms") | Some("voiceMobile") => assert!(has("mobilePhone")),
            Some("voiceAlternateMobile") => assert!(has("alternateMobilePhone")),
            Some("voiceOffice") => assert!(has("officePhone")),
            Some("none") | Some("") | None => {}
            Some(other) => panic!("unexpected default {other}"),
        }
        if !u.is_admin.unwrap_or(false) {
            assert!(u.privileged_roles.is_empty());
        }
        if !u.system_preferred_methods.is_empty() {
            assert!(u.is_mfa_registered, "{u:?}");
        }
        if has("microsoftAuthenticatorPush") || has("mobilePhone") || has("fido2SecurityKey") {
            assert!(!u.system_preferred_methods.is_empty(), "{u:?}");
        }
        assert!(u.last_updated.ends_with('Z'));
    }

    #[test]
    fn flags_are_consistent_with_methods() {
        let p = Population::generate(20_000, 42);
        for u in &p.users {
            consistent(u);
        }
    }

    #[test]
    fn deterministic_for_a_seed_and_prefix_stable() {
        let a = Population::generate(3_000, 7);
        let b = Population::generate(3_000, 7);
        assert_eq!(a, b);
        let c = Population::generate(30_000, 7); // takes the multi-threaded path
        assert_eq!(&c.users[..3_000], &a.users[..]);
        let d = Population::generate(3_000, 8);
        assert_ne!(a.users[0], d.users[0]);
    }

    #[test]
    fn realistic_mix() {
        let p = Population::generate(50_000, 1);
        let n = p.users.len() as f64;
        let frac = |f: &dyn Fn(&SimUser) -> bool| p.users.iter().filter(|u| f(u)).count() as f64 / n;
        let guests = frac(&|u| u.user_type.as_deref() == Some("guest"));
        assert!((0.12..0.18).contains(&guests), "guests {guests}");
        let admins = frac(&|u| u.is_admin == Some(true));
        assert!((0.02..0.04).contains(&admins), "admins {admins}");
        let disabled = frac(&|u| !u.enabled);
        assert!((0.01..0.03).contains(&disabled), "disabled {disabled}");
        let none = frac(&|u| u.methods_registered.is_empty());
        assert!((0.03..0.08).contains(&none), "none {none}");
        let mfa = frac(&|u| u.is_mfa_registered);
        assert!((0.75..0.95).contains(&mfa), "mfa {mfa}");
        let pwl = frac(&|u| u.is_passwordless_capable);
        assert!(pwl < 0.45 && pwl > 0.05, "passwordless {pwl}");
        assert!(frac(&|u| u.methods_registered.len() >= 4) > 0.05);
        assert!(p.users.iter().any(|u| !u.privileged_roles.is_empty()));
        assert!(p.users.iter().any(|u| u.is_admin.is_none()));
        assert!(p.users.iter().any(|u| u.user_type.is_none()));
        assert!(p.users.iter().any(|u| u.user_type.as_deref() == Some("unknownFutureValue")));
        assert!(p.users.iter().any(|u| { u.methods_registered.iter().any(|m| FUTURE_METHODS.contains(&m.as_str())) }));
        assert!(p.users.iter().any(|u| !u.last_updated.contains('.')));
        assert!(p.users.iter().any(|u| u.default_method.as_deref() == Some("")));
        assert!(p.users.iter().any(|u| u.default_method.is_none()));
        assert!(p.users.iter().any(|u| u.system_preferred_methods == ["PhoneAppNotification"]));
        let ids: std::collections::HashSet<_> = p.users.iter().map(|u| &u.id).collect();
        assert_eq!(ids.len(), p.users.len());
        let upns: std::collections::HashSet<_> = p.users.iter().map(|u| &u.user_principal_name).collect();
        assert_eq!(upns.len(), p.users.len());
    }

    #[test]
    fn timestamps_cluster_around_the_refresh() {
        let p = Population::generate(1_000, 3);
        for u in &p.users {
            assert!(
                u.last_updated.as_str() <= "2026-07-16T03:16:01Z" && u.last_updated.as_str() >= "2026-07-16T03:15:58",
                "{}",
                u.last_updated
            );
            let digits = u.last_updated.split('.').nth(1).map(|f| f.len() - 1);
            assert!(matches!(digits, None | Some(7)), "{}", u.last_updated);
        }
    }
}
