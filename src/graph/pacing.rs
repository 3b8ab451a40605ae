//! Request pacing per (app, tenant): Graph's reports quota is "5 requests per 10 seconds", a sliding
//! window, so the pacer guarantees that no window of `period` ever holds more than `limit` requests.
//! A token bucket would allow a burst of `limit` followed by a refill and overshoot such a window.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct Pacer {
    limit: usize,
    period: Duration,
    /// Admits waiting requests in order.
    queue: tokio::sync::Mutex<()>,
    /// The requests in the window, each with the latest moment Graph may have counted it: when it was
    /// sent, moved to when its answer arrived once it has ([`Sent`]). Graph counts a request when it
    /// arrives, somewhere in between; a request slowed on its way (a busy host, a slow network) would
    /// otherwise land in Graph's window later than in ours, next to the ones sent after it.
    window: std::sync::Mutex<Vec<(u64, Instant)>>,
    next_id: AtomicU64,
}

/// A request admitted by [`Pacer::acquire`]; dropping it, when the answer has arrived, moves its
/// place in the window to that moment.
pub struct Sent<'a> {
    pacer: &'a Pacer,
    id: u64,
}

impl Drop for Sent<'_> {
    fn drop(&mut self) {
        let now = Instant::now();
        let mut window = self.pacer.window.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = window.iter_mut().find(|(id, _)| *id == self.id) {
            entry.1 = entry.1.max(now);
        }
    }
}

/// Window entries that stand for no request (a pause after a 429).
const PAUSE: u64 = u64::MAX;

impl Pacer {
    pub fn new(limit: u32, period: Duration) -> Self {
        // A 2% margin on top, for clocks and rounding.
        let period = period.saturating_add(period / 50);
        Pacer {
            limit: limit.max(1) as usize,
            period,
            queue: tokio::sync::Mutex::new(()),
            window: std::sync::Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
        }
    }

    /// Waits until one more request fits in the window, then records it. Callers queue on a mutex,
    /// so concurrent requests are admitted in order. Keep the returned [`Sent`] until the answer has
    /// arrived.
    pub async fn acquire(&self) -> Sent<'_> {
        let _turn = self.queue.lock().await;
        loop {
            let now = Instant::now();
            let wake = {
                let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
                window.retain(|(_, at)| now.saturating_duration_since(*at) < self.period);
                if window.len() < self.limit {
                    let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                    window.push((id, now));
                    return Sent { pacer: self, id };
                }
                let oldest = window.iter().map(|(_, at)| *at).min().expect("the window is full, so not empty");
                // A period too long for an Instant: the window never frees, as if it ended in 100 years.
                oldest.checked_add(self.period).unwrap_or_else(|| oldest + Duration::from_secs(100 * 365 * 86_400))
            };
            tokio::time::sleep_until(wake).await;
        }
    }

    /// Pushes the window forward after Graph said 429: Graph keeps counting while it throttles, so the
    /// next request waits at least `delay` regardless of what the local window thinks.
    pub async fn pause_for(&self, delay: Duration) {
        let until = Instant::now() + delay;
        // Fill the window with entries that expire when the pause ends.
        let stamp = until.checked_sub(self.period).unwrap_or(until);
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        window.clear();
        window.extend(std::iter::repeat_n((PAUSE, stamp), self.limit));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_limit_requests_in_any_window() {
        let pacer = Pacer::new(5, Duration::from_secs(10));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..12 {
            pacer.acquire().await;
            times.push(start.elapsed());
        }
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..].iter().filter(|u| **u < *t + Duration::from_secs(10)).count();
            assert!(in_window <= 5, "window starting at request {i} holds {in_window}");
        }
        assert_eq!(times[4], Duration::ZERO);
        assert_eq!(times[5], Duration::from_millis(10_200));
        assert_eq!(times[10], Duration::from_millis(20_400));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_delays_the_next_request() {
        let pacer = Pacer::new(5, Duration::from_secs(10));
        let start = Instant::now();
        pacer.acquire().await;
        pacer.pause_for(Duration::from_secs(3)).await;
        pacer.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_answer_counts_from_when_it_arrived() {
        let pacer = Pacer::new(5, Duration::from_secs(10));
        let start = Instant::now();
        let mut first = Vec::new();
        for _ in 0..5 {
            first.push(pacer.acquire().await);
        }
        // The answers take 3 s: Graph may have counted the requests as late as that.
        tokio::time::advance(Duration::from_secs(3)).await;
        drop(first);
        pacer.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(13_200));
    }
}
