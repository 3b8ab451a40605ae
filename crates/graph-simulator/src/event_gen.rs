//! Generation of the activity log (see `events` for what it holds): per-user activity over the
//! [`EVENT_SPAN`] before the refresh, consistent with what each user registered and what policy
//! lets them use, and the extra activity of each drift step.

use std::time::Duration;

use time::OffsetDateTime;

use super::events::{EVENT_SPAN, EventKind, FAILURE_REASONS, REGISTRATION_ACTIVITY_METHODS, SimEvent, sort};
use super::population::SimUser;
use super::rng::SplitMix64;

const USER_CANCELLED: &str = FAILURE_REASONS[0];
const INVALID_CODE: &str = FAILURE_REASONS[1];
const CODE_EXPIRED: &str = FAILURE_REASONS[2];
const PHONE_UNREACHABLE: &str = FAILURE_REASONS[3];
const SMS_FAILED: &str = FAILURE_REASONS[4];
const QUESTIONS_WRONG: &str = FAILURE_REASONS[5];
const POLICY_VIOLATION: &str = FAILURE_REASONS[6];
const KEY_FAILED: &str = FAILURE_REASONS[7];
const MFA_DENIED: &str = FAILURE_REASONS[8];
const BAD_PASSWORD: &str = FAILURE_REASONS[9];
const LOCKED: &str = FAILURE_REASONS[10];
const EMAIL_ADMIN: &str = FAILURE_REASONS[11];

/// Expected sign-ins over the whole log beyond which per-user volume is scaled down.
const SIGN_IN_BUDGET: f64 = 1_000_000.0;
/// Average sign-ins per user over [`EVENT_SPAN`], used for the scale factor.
const MEAN_SIGN_INS: f64 = 4.6;

/// The factor applied to per-user sign-in volume for a population of `users`.
pub(crate) fn sign_in_scale(users: usize) -> f64 {
    (SIGN_IN_BUDGET / (users.max(1) as f64 * MEAN_SIGN_INS)).min(1.0)
}

/// Salt of the per-user event streams, independent of the streams that generate the users.
const EVENT_SALT: u64 = 0xE7E7_5EED_0A11_0C5A;

/// The user's kind, for volumes.
#[derive(Clone, Copy, PartialEq)]
enum Who {
    Member,
    Admin,
    Guest,
}

fn who(u: &SimUser) -> Who {
    if u.is_admin == Some(true) {
        Who::Admin
    } else if u.user_type.as_deref() == Some("guest") {
        Who::Guest
    } else {
        Who::Member
    }
}

/// A time `offset` before `end`, truncated to the second (never after `end`).
fn before(end: OffsetDateTime, offset: Duration) -> OffsetDateTime {
    let t = end - offset;
    OffsetDateTime::from_unix_timestamp(t.unix_timestamp()).unwrap_or(t)
}

/// A random offset into a window of `span`, biased away from weekends like real office activity
/// (a weekend draw is redrawn once with probability 0.6).
fn office_offset(r: &mut SplitMix64, end: OffsetDateTime, span: Duration) -> Duration {
    let span_ms = span.as_millis().max(1) as u64;
    let mut off = Duration::from_millis(r.below(span_ms));
    let weekend = |o: Duration| matches!((end - o).weekday(), time::Weekday::Saturday | time::Weekday::Sunday);
    if weekend(off) && r.chance(0.6) {
        off = Duration::from_millis(r.below(span_ms));
    }
    off
}

/// Weighted pick from a non-empty table.
fn weighted(r: &mut SplitMix64, table: &[(&'static str, u32)]) -> &'static str {
    let total: u64 = table.iter().map(|(_, w)| u64::from(*w)).sum();
    let mut x = r.below(total.max(1));
    for (v, w) in table {
        if x < u64::from(*w) {
            return v;
        }
        x -= u64::from(*w);
    }
    table[0].0
}

/// Failure reasons by the kind of verification that failed.
fn failure_reason(r: &mut SplitMix64, kind: EventKind, method: &str) -> &'static str {
    const PHONE: &[(&str, u32)] =
        &[(INVALID_CODE, 35), (PHONE_UNREACHABLE, 20), (SMS_FAILED, 15), (CODE_EXPIRED, 10), (USER_CANCELLED, 20)];
    const EMAIL: &[(&str, u32)] = &[(INVALID_CODE, 40), (CODE_EXPIRED, 30), (USER_CANCELLED, 25), (EMAIL_ADMIN, 5)];
    const CODE: &[(&str, u32)] = &[(INVALID_CODE, 70), (USER_CANCELLED, 30)];
    const APP: &[(&str, u32)] = &[(USER_CANCELLED, 55), (MFA_DENIED, 45)];
    const KEY: &[(&str, u32)] = &[(USER_CANCELLED, 60), (KEY_FAILED, 40)];
    const PASSWORD: &[(&str, u32)] = &[(BAD_PASSWORD, 90), (LOCKED, 10)];
    const TAP: &[(&str, u32)] = &[(CODE_EXPIRED, 60), (USER_CANCELLED, 40)];
    if kind == EventKind::Reset && r.chance(0.15) {
        // The verification worked but the new password was refused.
        return POLICY_VIOLATION;
    }
    if kind == EventKind::PasswordChange {
        return if r.chance(0.5) { POLICY_VIOLATION } else { BAD_PASSWORD };
    }
    if kind == EventKind::SignIn && passwordless_sign_in(method).is_some() {
        // A passkey or Windows Hello prompt the user dismissed.
        return USER_CANCELLED;
    }
    let table = match method {
        "mobilePhone" | "alternateMobilePhone" | "officePhone" | "sms" | "smsSignIn" => PHONE,
        "email" => EMAIL,
        "softwareOneTimePasscode" | "hardwareOneTimePasscode" | "oneTimePasscode" => CODE,
        "microsoftAuthenticatorPush" | "microsoftAuthenticatorPasswordless" => APP,
        "securityQuestion" if kind == EventKind::Reset => &[(QUESTIONS_WRONG, 70), (USER_CANCELLED, 30)][..],
        "password" => PASSWORD,
        "temporaryAccessPass" => TAP,
        "securityQuestion" | "externalAuthMethod" => &[(USER_CANCELLED, 1)][..],
        _ => KEY,
    };
    weighted(r, table)
}

/// The sign-in method name for a passwordless registered method.
fn passwordless_sign_in(method: &str) -> Option<&'static str> {
    Some(match method {
        "windowsHelloForBusiness" => "windowsHelloForBusiness",
        "fido2SecurityKey" => "fido2SecurityKey",
        "passKeyDeviceBound" | "passKeyDeviceBoundAuthenticator" | "passKeyDeviceBoundWindowsHello" => {
            "passKeyDeviceBound"
        }
        "passKeySynced" => "passKeySynced",
        "microsoftAuthenticatorPasswordless" => "microsoftAuthenticatorPasswordless",
        "macOsSecureEnclaveKey" => "macOsSecureEnclaveKey",
        _ => return None,
    })
}

/// The sign-in method name for a registered second factor (`mobilePhone` is split between text
/// codes and voice calls by the caller).
fn second_factor_sign_in(method: &str) -> Option<&'static str> {
    Some(match method {
        "microsoftAuthenticatorPush" => "microsoftAuthenticatorPush",
        "softwareOneTimePasscode" | "hardwareOneTimePasscode" => "oneTimePasscode",
        "mobilePhone" => "sms",
        "alternateMobilePhone" => "alternateMobilePhone",
        "officePhone" => "officePhone",
        "externalAuthMethod" => "externalAuthMethod",
        _ => return None,
    })
}

/// The SSPR verification name for a registered method.
fn reset_method(method: &str) -> Option<&'static str> {
    Some(match method {
        "email" => "email",
        "mobilePhone" => "sms",
        "officePhone" => "officePhone",
        "alternateMobilePhone" => "alternateMobilePhone",
        "securityQuestion" => "securityQuestion",
        "microsoftAuthenticatorPush" | "microsoftAuthenticatorPasswordless" => "microsoftAuthenticatorPush",
        "softwareOneTimePasscode" | "hardwareOneTimePasscode" => "oneTimePasscode",
        _ => return None,
    })
}

/// The registration name of a registered method (`None` for unknown future methods).
pub(crate) fn registration_method(method: &str) -> Option<&'static str> {
    REGISTRATION_ACTIVITY_METHODS.iter().copied().find(|m| *m == method).or(match method {
        "passKeySynced" => Some("passKeySynced"),
        _ => None,
    })
}

/// Appends events to a buffer; keeps the per-event plumbing out of the generators.
struct Log<'a> {
    out: &'a mut Vec<SimEvent>,
    user: u32,
}

impl Log<'_> {
    fn push(
        &mut self,
        at: OffsetDateTime,
        kind: EventKind,
        method: &'static str,
        fail: Option<&'static str>,
        mfa: bool,
    ) {
        self.out.push(SimEvent {
            at,
            user: self.user,
            kind,
            method,
            success: fail.is_none(),
            failure_reason: fail,
            multi_factor: mfa,
        });
    }
}

/// One sign-in of `u` at `at`: the method follows what the user holds and the policy lets them use.
fn sign_in(r: &mut SplitMix64, u: &SimUser, at: OffsetDateTime, log: &mut Log<'_>) {
    let methods = &u.methods_registered;
    let has = |m: &str| methods.iter().any(|x| x == m);
    let (method, mfa) = {
        let passwordless: Vec<&'static str> = if u.is_passwordless_capable {
            methods.iter().filter_map(|m| passwordless_sign_in(m)).collect()
        } else {
            Vec::new()
        };
        let second: Vec<&'static str> = if u.is_mfa_capable {
            methods.iter().filter_map(|m| second_factor_sign_in(m)).collect()
        } else {
            Vec::new()
        };
        if !passwordless.is_empty() && r.chance(0.55) {
            (*r.pick(&passwordless), true)
        } else if has("temporaryAccessPass") && r.chance(0.05) {
            ("temporaryAccessPass", true)
        } else if !second.is_empty() && r.chance(0.7) {
            let m = *r.pick(&second);
            // A third of the phone challenges are voice calls, reported as `mobilePhone`.
            if m == "sms" && r.chance(0.3) { ("mobilePhone", true) } else { (m, true) }
        } else if has("mobilePhone") && r.chance(0.04) {
            ("smsSignIn", false)
        } else {
            ("password", false)
        }
    };
    let fail_p = match method {
        "password" => 0.07,
        "smsSignIn" => 0.08,
        "temporaryAccessPass" => 0.05,
        m if passwordless_sign_in(m).is_some() => 0.02,
        _ => 0.06,
    };
    let fail = if r.chance(fail_p) { Some(failure_reason(r, EventKind::SignIn, method)) } else { None };
    log.push(at, EventKind::SignIn, method, fail, mfa);
}

/// A registration of `method` ending at `at`: zero to three failed attempts a few minutes before
/// (about 18% of attempts fail), then success unless `give_up`.
fn registration(r: &mut SplitMix64, method: &'static str, at: OffsetDateTime, give_up: bool, log: &mut Log<'_>) {
    let mut failures = 0;
    while failures < 3 && r.chance(0.18) {
        failures += 1;
    }
    if give_up {
        failures = failures.max(1);
    }
    for k in (1..=failures).rev() {
        let t = at - Duration::from_secs(60 * (k as u64 * 4 + r.below(4)));
        log.push(t, EventKind::Registration, method, Some(failure_reason(r, EventKind::Registration, method)), false);
    }
    if !give_up {
        log.push(at, EventKind::Registration, method, None, false);
    }
}

/// An SSPR attempt at `at` with one of the user's SSPR methods; about 12% of verifications fail,
/// and a user who failed succeeds on a retry 85% of the time.
fn password_reset(r: &mut SplitMix64, u: &SimUser, at: OffsetDateTime, log: &mut Log<'_>) {
    let options: Vec<&'static str> = u.methods_registered.iter().filter_map(|m| reset_method(m)).collect();
    if options.is_empty() {
        return;
    }
    let mut method = *r.pick(&options);
    if method == "sms" && r.chance(0.3) {
        method = "mobilePhone";
    }
    if r.chance(0.12) {
        let t = at - Duration::from_secs(60 * (2 + r.below(10)));
        log.push(t, EventKind::Reset, method, Some(failure_reason(r, EventKind::Reset, method)), false);
        if !r.chance(0.85) {
            return;
        }
    }
    log.push(at, EventKind::Reset, method, None, false);
}

/// Number of events with mean `mean`: exponential activity levels, so a few users are far busier
/// than the rest, as in real sign-in logs.
fn count(r: &mut SplitMix64, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    let x = -mean * (1.0 - r.unit()).ln();
    let whole = x.floor();
    (whole as u32 + u32::from(r.chance(x - whole))).min(200)
}

/// The events of user `index` over the [`EVENT_SPAN`] before `end`, appended to `out` unsorted.
/// Depends only on (`seed`, `index`, the user, `end`, `scale`). Disabled users have no activity.
pub(crate) fn user_events(
    seed: u64,
    index: u64,
    u: &SimUser,
    end: OffsetDateTime,
    scale: f64,
    out: &mut Vec<SimEvent>,
) {
    if !u.enabled || index > u64::from(u32::MAX) {
        return;
    }
    let mut r = SplitMix64::for_stream(seed ^ EVENT_SALT, index);
    let mut log = Log { out, user: index as u32 };
    let w = who(u);

    let sign_in_mean = match w {
        Who::Member => 5.0,
        Who::Admin => 10.0,
        Who::Guest => 1.2,
    } * scale;
    for _ in 0..count(&mut r, sign_in_mean) {
        let at = before(end, office_offset(&mut r, end, EVENT_SPAN));
        sign_in(&mut r, u, at, &mut log);
    }

    // Registrations and resets happen after the window's first half hour, so that the failed
    // attempts a few minutes before them stay inside the window.
    let reg_window = EVENT_SPAN - Duration::from_secs(1800);
    let registrable: Vec<&'static str> = u.methods_registered.iter().filter_map(|m| registration_method(m)).collect();
    let reg_p = match w {
        Who::Member => 0.06,
        Who::Admin => 0.15,
        Who::Guest => 0.03,
    };
    if !registrable.is_empty() && r.chance(reg_p) {
        let n = if registrable.len() > 1 && r.chance(0.3) { 2 } else { 1 };
        for _ in 0..n {
            let m = *r.pick(&registrable);
            let at = before(end, office_offset(&mut r, end, reg_window));
            registration(&mut r, m, at, false, &mut log);
        }
    } else if registrable.is_empty() && r.chance(0.08) {
        // Users with nothing registered include some who tried and gave up.
        let m = if r.chance(0.7) { "microsoftAuthenticatorPush" } else { "mobilePhone" };
        let at = before(end, office_offset(&mut r, end, reg_window));
        registration(&mut r, m, at, true, &mut log);
    }

    let reset_p = match w {
        Who::Member => 0.04,
        Who::Admin => 0.03,
        Who::Guest => 0.01,
    };
    if u.is_sspr_capable && r.chance(reset_p) {
        let at = before(end, office_offset(&mut r, end, reg_window));
        password_reset(&mut r, u, at, &mut log);
    }
    if w != Who::Guest && r.chance(0.01) {
        let at = before(end, office_offset(&mut r, end, EVENT_SPAN));
        log.push(at, EventKind::AdminPasswordReset, "password", None, false);
    }
    let change_p = if w == Who::Guest { 0.005 } else { 0.06 };
    if r.chance(change_p) {
        let at = before(end, office_offset(&mut r, end, EVENT_SPAN));
        let fail =
            if r.chance(0.04) { Some(failure_reason(&mut r, EventKind::PasswordChange, "password")) } else { None };
        log.push(at, EventKind::PasswordChange, "password", fail, false);
    }
}

/// Activity appended by one drift step over `(prev, next]`. Drift is accelerated for the demo: on
/// top of the realistic rate, a handful of users sign in every step, and every method a user
/// gained in the step (`added`) gets its registration (sometimes after failed attempts).
pub(crate) fn drift_events(
    users: &[SimUser],
    seed: u64,
    step: u64,
    prev: OffsetDateTime,
    next: OffsetDateTime,
    added: &[(usize, &'static str)],
) -> Vec<SimEvent> {
    let mut out = Vec::new();
    let n = users.len();
    if n == 0 || next <= prev {
        return out;
    }
    let mut r = SplitMix64::for_stream(seed ^ EVENT_SALT ^ 0xD21F, step);
    // Whole seconds strictly after `prev` and not after `next` (drift moves at least one second).
    let first = prev.unix_timestamp() + 1;
    let last = next.unix_timestamp().max(first);
    let at = |r: &mut SplitMix64| {
        let s = first + r.below((last - first + 1) as u64) as i64;
        OffsetDateTime::from_unix_timestamp(s).unwrap_or(next)
    };
    let span_secs = (next - prev).whole_seconds().max(0) as f64;
    let realistic = n as f64 * MEAN_SIGN_INS * sign_in_scale(n) * span_secs.min(EVENT_SPAN.as_secs_f64())
        / EVENT_SPAN.as_secs_f64();
    let sign_ins = realistic.round() as usize + (n / 300).max(1);
    for _ in 0..sign_ins.min(n * 4) {
        let i = r.below(n as u64) as usize;
        let u = &users[i];
        if !u.enabled || i > u32::MAX as usize {
            continue;
        }
        let t = at(&mut r);
        sign_in(&mut r, u, t, &mut Log { out: &mut out, user: i as u32 });
    }
    for &(i, method) in added {
        if i >= n || i > u32::MAX as usize {
            continue;
        }
        let t = at(&mut r);
        let mut log = Log { out: &mut out, user: i as u32 };
        // Failed attempts land before `t`, possibly before `prev`: clamp them into the step.
        let start = log.out.len();
        registration(&mut r, method, t, false, &mut log);
        for e in &mut out[start..] {
            if e.at <= prev {
                e.at = OffsetDateTime::from_unix_timestamp(first).unwrap_or(next);
            }
        }
    }
    for _ in 0..(n / 1500).max(1) {
        let i = r.below(n as u64) as usize;
        let u = &users[i];
        if u.enabled && u.is_sspr_capable && i <= u32::MAX as usize && r.chance(0.5) {
            let t = at(&mut r);
            let mut log = Log { out: &mut out, user: i as u32 };
            let start = log.out.len();
            password_reset(&mut r, u, t, &mut log);
            for e in &mut out[start..] {
                if e.at <= prev {
                    e.at = OffsetDateTime::from_unix_timestamp(first).unwrap_or(next);
                }
            }
        }
    }
    sort(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Population;
    use crate::events::{RESET_ACTIVITY_METHODS, SIGN_IN_METHODS};
    use std::collections::{BTreeMap, HashSet};

    #[test]
    fn log_is_sorted_bounded_and_consistent_with_users() {
        let p = Population::generate(20_000, 5);
        assert!(p.events.windows(2).all(|w| w[0].at <= w[1].at));
        let start = p.refreshed_at - EVENT_SPAN;
        for e in &p.events {
            assert!(e.at <= p.refreshed_at && e.at > start, "{e:?}");
            assert_eq!(e.at.nanosecond(), 0);
            let u = &p.users[e.user as usize];
            assert!(u.enabled);
            assert_eq!(e.success, e.failure_reason.is_none());
            if let Some(reason) = e.failure_reason {
                assert!(FAILURE_REASONS.contains(&reason), "{reason}");
            }
            match e.kind {
                EventKind::Registration => {
                    assert!(registration_method(e.method).is_some(), "{}", e.method);
                    if e.success {
                        assert!(u.methods_registered.iter().any(|m| m == e.method), "{e:?} {u:?}");
                    }
                }
                EventKind::Reset => {
                    assert!(RESET_ACTIVITY_METHODS.contains(&e.method), "{}", e.method);
                    assert!(u.is_sspr_capable);
                }
                EventKind::SignIn => {
                    assert!(SIGN_IN_METHODS.contains(&e.method), "{}", e.method);
                    assert_eq!(e.multi_factor, !matches!(e.method, "password" | "smsSignIn"), "{e:?}");
                    // Temporary Access Pass satisfies MFA without counting as an MFA registration.
                    if e.multi_factor && e.method != "temporaryAccessPass" {
                        assert!(u.is_mfa_registered, "{e:?} {u:?}");
                    }
                }
                EventKind::AdminPasswordReset | EventKind::PasswordChange => assert_eq!(e.method, "password"),
            }
        }
    }

    #[test]
    fn realistic_volumes_and_failure_ratios() {
        let p = Population::generate(20_000, 6);
        let listed = p.listed_count() as f64;
        let of = |k: EventKind| p.events.iter().filter(|e| e.kind == k).collect::<Vec<_>>();
        let ratio = |v: &[&SimEvent]| v.iter().filter(|e| !e.success).count() as f64 / v.len() as f64;
        let sign_ins = of(EventKind::SignIn);
        let per_user = sign_ins.len() as f64 / listed;
        assert!((3.0..7.0).contains(&per_user), "{per_user}");
        assert!((0.02..0.12).contains(&ratio(&sign_ins)), "{}", ratio(&sign_ins));
        let mfa = sign_ins.iter().filter(|e| e.multi_factor).count() as f64 / sign_ins.len() as f64;
        assert!((0.3..0.9).contains(&mfa), "{mfa}");
        let regs = of(EventKind::Registration);
        assert!(regs.len() as f64 / listed > 0.03 && (regs.len() as f64 / listed) < 0.3);
        assert!((0.08..0.3).contains(&ratio(&regs)), "{}", ratio(&regs));
        let resets = of(EventKind::Reset);
        assert!(resets.len() > 100);
        assert!((0.03..0.25).contains(&ratio(&resets)), "{}", ratio(&resets));
        assert!(!of(EventKind::AdminPasswordReset).is_empty() && !of(EventKind::PasswordChange).is_empty());
        // Enough distinct reasons among registrations and resets to overflow a top-5 cap.
        let reasons: HashSet<&str> = regs.iter().chain(&resets).filter_map(|e| e.failure_reason).collect();
        assert!(reasons.len() >= 7, "{reasons:?}");
        let methods: BTreeMap<&str, usize> = sign_ins.iter().fold(BTreeMap::new(), |mut m, e| {
            *m.entry(e.method).or_default() += 1;
            m
        });
        assert!(methods.len() >= 12, "{methods:?}");
    }

    #[test]
    fn deterministic_and_prefix_stable() {
        let a = Population::generate(3_000, 7);
        let b = Population::generate(3_000, 7);
        assert_eq!(a.events, b.events);
        let c = Population::generate(30_000, 7);
        let small: Vec<&SimEvent> = c.events.iter().filter(|e| e.user < 3_000).collect();
        assert_eq!(small, a.events.iter().collect::<Vec<_>>());
    }

    #[test]
    fn large_tenants_are_scaled() {
        assert_eq!(sign_in_scale(100_000), 1.0);
        let s = sign_in_scale(1_000_000);
        assert!(s < 0.25 && s > 0.2, "{s}");
        assert_eq!(sign_in_scale(0), 1.0);
    }

    #[test]
    fn drift_appends_after_the_previous_refresh() {
        let p = Population::generate(3_000, 8);
        let next = p.refreshed_at + Duration::from_secs(60);
        let added = vec![(5usize, "microsoftAuthenticatorPush"), (999_999, "email")];
        let ev = drift_events(&p.users, 8, 0, p.refreshed_at, next, &added);
        assert!(ev.iter().all(|e| e.at > p.refreshed_at && e.at <= next));
        assert!(ev.iter().any(|e| e.user == 5 && e.kind == EventKind::Registration && e.success));
        assert!(ev.iter().filter(|e| e.kind == EventKind::SignIn).count() >= 10);
        assert!(drift_events(&[], 8, 0, p.refreshed_at, next, &added).is_empty());
    }
}
