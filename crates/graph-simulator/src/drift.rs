//! Demo drift: the population moves a little on each step so dashboards and alerts have something
//! to show. Adoption grows every step; every tenth step some users lose a method, so "registration
//! dropped" alerts can be demonstrated too. Deterministic for (seed, step).

use std::time::Duration;

use time::OffsetDateTime;

use super::catalog::is_strong_mfa_method;
use super::event_gen;
use super::events::{self, EVENT_SPAN};
use super::population::{Population, row_timestamp};
use super::rng::{SplitMix64, hash_str};

/// Steps whose number is ≡ 9 (mod 10) remove methods as well as adding them.
const LOSS_EVERY: u64 = 10;

impl Population {
    /// Apply drift step number `step` (0, 1, 2, …) for a tenant generated with `seed`, and mark a
    /// report refresh at `max(now, previous refresh + 1 s)` (every row gets a new
    /// `last_updated`, as a real refresh rewrites the whole report). Costs O(users).
    ///
    /// Each step: about 0.5% of the users (at least one) who are not MFA-registered register
    /// Authenticator or a phone; about 0.1% of MFA users add a passkey. On every tenth step about
    /// 0.2% of users with methods (at least one) lose one.
    ///
    /// The activity log grows too: every method gained gets its registration event, and sign-ins
    /// and password resets happen between the previous refresh and the new one (faster than real
    /// life, so the demo moves). Events older than [`EVENT_SPAN`] before the new refresh are dropped.
    pub fn drift(&mut self, seed: u64, step: u64, now: OffsetDateTime) {
        let n = self.users.len();
        let mut r = SplitMix64::for_stream(seed ^ 0xD21F_7000, step);
        let mut added: Vec<(usize, &'static str)> = Vec::new();
        if n > 0 {
            let adopters = (n / 200).max(1);
            let mut done = 0;
            for _ in 0..adopters * 8 {
                if done == adopters {
                    break;
                }
                let i = r.below(n as u64) as usize;
                let u = &mut self.users[i];
                if !u.enabled || u.is_mfa_registered {
                    continue;
                }
                let add = match r.below(10) {
                    0..=6 => "microsoftAuthenticatorPush",
                    7..=8 => "mobilePhone",
                    _ => "softwareOneTimePasscode",
                };
                let mut methods = u.methods_registered.clone();
                methods.push(add.to_owned());
                u.set_methods(methods);
                added.push((i, add));
                done += 1;
            }
            for _ in 0..(n / 1000).max(1) {
                let i = r.below(n as u64) as usize;
                let u = &mut self.users[i];
                if u.enabled && u.is_mfa_registered && !u.methods_registered.iter().any(|m| m == "passKeyDeviceBound") {
                    let mut methods = u.methods_registered.clone();
                    methods.push("passKeyDeviceBound".to_owned());
                    u.set_methods(methods);
                    added.push((i, "passKeyDeviceBound"));
                }
            }
            if step % LOSS_EVERY == LOSS_EVERY - 1 {
                let losers = (n / 500).max(1);
                let mut done = 0;
                for _ in 0..losers * 8 {
                    if done == losers {
                        break;
                    }
                    let i = r.below(n as u64) as usize;
                    let u = &mut self.users[i];
                    if !u.enabled || u.methods_registered.is_empty() {
                        continue;
                    }
                    // Prefer losing a strong method, which is what moves the MFA numbers.
                    let strong: Vec<usize> = (0..u.methods_registered.len())
                        .filter(|&k| is_strong_mfa_method(&u.methods_registered[k]))
                        .collect();
                    let k = if strong.is_empty() {
                        r.below(u.methods_registered.len() as u64) as usize
                    } else {
                        *r.pick(&strong)
                    };
                    let mut methods = u.methods_registered.clone();
                    methods.remove(k);
                    u.set_methods(methods);
                    done += 1;
                }
            }
        }

        let next = (self.refreshed_at + Duration::from_secs(1)).max(now);
        let appended = event_gen::drift_events(&self.users, seed, step, self.refreshed_at, next, &added);
        self.events.extend(appended);
        if !self.events.is_sorted_by(|a, b| a.at <= b.at) {
            // Only a hand-made log (events after its refresh time) gets here.
            events::sort(&mut self.events);
        }
        let horizon = next - EVENT_SPAN;
        let stale = self.events.partition_point(|e| e.at <= horizon);
        self.events.drain(..stale);
        self.refreshed_at = next;
        for u in &mut self.users {
            let offset = hash_str(&u.id, step) % 2_500_000_000;
            let with_fraction = u.last_updated.contains('.');
            u.last_updated = row_timestamp(next, offset, with_fraction);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mfa(p: &Population) -> usize {
        p.listed().filter(|u| u.is_mfa_registered).count()
    }

    #[test]
    fn adoption_grows_and_sometimes_drops_deterministically() {
        let base = Population::generate(5_000, 9);
        let mut a = base.clone();
        let mut b = base.clone();
        let now = base.refreshed_at;
        let mut last = mfa(&a);
        for step in 0..10 {
            a.drift(9, step, now);
            b.drift(9, step, now);
            let m = mfa(&a);
            if step < 9 {
                assert!(m > last, "step {step}: {m} <= {last}");
            }
            last = m;
        }
        assert_eq!(a, b);
        // Step 9 removes methods from some users.
        let mut c = base.clone();
        for step in 0..9 {
            c.drift(9, step, now);
        }
        let before: usize = c.users.iter().map(|u| u.methods_registered.len()).sum();
        let mut d = c.clone();
        d.drift(9, 9, now);
        let lost = c
            .users
            .iter()
            .zip(&d.users)
            .filter(|(x, y)| y.methods_registered.len() < x.methods_registered.len())
            .count();
        assert!(lost >= 1, "{before}");
        assert!(a.refreshed_at > base.refreshed_at);
        assert_ne!(a.users[0].last_updated, base.users[0].last_updated);
    }

    #[test]
    fn drift_on_tiny_and_empty_populations() {
        let mut p = Population::generate(1, 1);
        for s in 0..20 {
            p.drift(1, s, p.refreshed_at);
        }
        let mut e = Population::generate(0, 1);
        e.drift(1, 9, e.refreshed_at);
        assert!(e.users.is_empty());
    }
}
