//! The reports quota: a sliding window per (client id, tenant) over all report routes, like Graph's
//! "5 requests per 10 seconds per app per tenant" for identity and access reports (Microsoft Graph, "Microsoft Graph
//! service-specific throttling limits" (<https://learn.microsoft.com/graph/throttling-limits>)). Only admitted requests
//! use quota. Real Graph also counts requests it rejects; the simulator does not, so `Retry-After` is exact and a
//! client that honours it always gets through on its next try (a client that ignores it still sees its 429s in
//! `SimStats::throttled`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::faults::lock;

/// Admitted-request times per (client id, tenant), oldest first.
pub(crate) struct Throttle {
    quota: u32,
    window: Duration,
    logs: Mutex<HashMap<(String, String), VecDeque<Instant>>>,
}

impl Throttle {
    pub(crate) fn new(quota: u32, window: Duration) -> Self {
        Throttle { quota, window, logs: Mutex::new(HashMap::new()) }
    }

    /// Admit a request now, or return how long until one would be admitted.
    pub(crate) fn check(&self, client_id: &str, tenant_id: &str, now: Instant) -> Result<(), Duration> {
        let mut logs = lock(&self.logs);
        let log = logs.entry((client_id.to_ascii_lowercase(), tenant_id.to_ascii_lowercase())).or_default();
        admit(log, self.quota, self.window, now)
    }
}

/// Sliding-window decision. Expired entries are dropped first, so the log never holds more than
/// `quota` entries; when full, the wait is until the oldest admitted request leaves the window.
/// A zero window means no limit; a zero quota means nothing is admitted (wait one window).
pub(crate) fn admit(log: &mut VecDeque<Instant>, quota: u32, window: Duration, now: Instant) -> Result<(), Duration> {
    if window.is_zero() {
        return Ok(());
    }
    while let Some(&oldest) = log.front() {
        if now.saturating_duration_since(oldest) >= window {
            log.pop_front();
        } else {
            break;
        }
    }
    if quota == 0 {
        return Err(window);
    }
    if log.len() < quota as usize {
        log.push_back(now);
        return Ok(());
    }
    let oldest = log.front().copied().unwrap_or(now);
    Err((oldest + window).saturating_duration_since(now))
}

/// `Retry-After` as Graph sends it: decimal seconds, fractional when needed (`"2.128"`). Rounded
/// up to the millisecond, at least 1 ms, so a client waiting exactly this long is admitted.
pub(crate) fn format_retry_after(wait: Duration) -> String {
    let ms = wait.as_nanos().div_ceil(1_000_000).max(1);
    let (secs, frac) = (ms / 1000, ms % 1000);
    if frac == 0 {
        return secs.to_string();
    }
    let mut s = format!("{secs}.{frac:03}");
    while s.ends_with('0') {
        s.pop();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_arithmetic() {
        let t0 = Instant::now();
        let w = Duration::from_secs(10);
        let mut log = VecDeque::new();
        for i in 0..5 {
            assert_eq!(admit(&mut log, 5, w, t0 + Duration::from_millis(i * 100)), Ok(()));
        }
        let now = t0 + Duration::from_millis(1_000);
        assert_eq!(admit(&mut log, 5, w, now), Err(Duration::from_millis(9_000)));
        // Rejections use no quota: the same answer a little later is a little shorter.
        let later = t0 + Duration::from_millis(7_872);
        assert_eq!(admit(&mut log, 5, w, later), Err(Duration::from_millis(2_128)));
        // Exactly at expiry of the oldest, one slot frees up.
        assert_eq!(admit(&mut log, 5, w, t0 + w), Ok(()));
        assert!(admit(&mut log, 5, w, t0 + w).is_err());
        assert_eq!(log.len(), 5);
    }

    #[test]
    fn degenerate_quotas() {
        let t0 = Instant::now();
        let mut log = VecDeque::new();
        assert_eq!(admit(&mut log, 0, Duration::ZERO, t0), Ok(()));
        assert_eq!(admit(&mut log, 0, Duration::from_secs(3), t0), Err(Duration::from_secs(3)));
        for _ in 0..10_000 {
            assert_eq!(admit(&mut log, u32::MAX, Duration::from_secs(1), t0), Ok(()));
        }
    }

    #[test]
    fn per_client_and_tenant() {
        let t = Throttle::new(1, Duration::from_secs(10));
        let now = Instant::now();
        assert!(t.check("a", "t1", now).is_ok());
        assert!(t.check("A", "T1", now).is_err());
        assert!(t.check("a", "t2", now).is_ok());
        assert!(t.check("b", "t1", now).is_ok());
    }

    #[test]
    fn retry_after_format() {
        assert_eq!(format_retry_after(Duration::from_millis(2_128)), "2.128");
        assert_eq!(format_retry_after(Duration::from_micros(2_127_001)), "2.128");
        assert_eq!(format_retry_after(Duration::from_millis(2_100)), "2.1");
        assert_eq!(format_retry_after(Duration::from_secs(10)), "10");
        assert_eq!(format_retry_after(Duration::ZERO), "0.001");
    }
}
