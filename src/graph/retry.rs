//! When to try again: Graph's `Retry-After` (seconds, possibly fractional, or an HTTP-date), else
//! exponential backoff with jitter.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// Longest wait we accept from a `Retry-After`, so a bogus header cannot park a poll for hours; the
/// poll deadline bounds the total anyway.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Parses a `Retry-After` value relative to `now`. `None` for absent or unreadable values, in which
/// case the caller backs off on its own.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            // Capped before converting: Duration::from_secs_f64 panics on values beyond its range
            // (1e30), and a panic here would end the tenant's poller.
            return Some(Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())));
        }
        return None;
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO).min(MAX_RETRY_AFTER))
}

/// Backoff before retry number `attempt` (1 = first retry): base·2^(attempt-1), capped, with jitter
/// between half and the full value so that many tenants failing together do not retry in lockstep.
pub(crate) fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let capped = exp.min(max);
    let jitter = rand::rng().random_range(0.5..=1.0);
    capped.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("2.128", now), Some(Duration::from_millis(2128)));
        assert_eq!(parse_retry_after(" 10 ", now), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("100000", now), Some(MAX_RETRY_AFTER));
        // Beyond Duration's range: capped, not a panic.
        assert_eq!(parse_retry_after("1e30", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after(&f64::MAX.to_string(), now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("inf", now), None);
        assert_eq!(parse_retry_after("NaN", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(7)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_secs(1);
        let max = Duration::from_secs(8);
        for _ in 0..50 {
            let b1 = backoff(1, base, max);
            assert!(b1 >= Duration::from_millis(500) && b1 <= base);
            let b3 = backoff(3, base, max);
            assert!(b3 >= Duration::from_secs(2) && b3 <= Duration::from_secs(4));
            assert!(backoff(30, base, max) <= max);
        }
    }
}
