//! Request pacing per (app, tenant): Graph's reports quota is "5 requests per 10 seconds", a sliding
//! window, so the pacer guarantees that no window of `period` ever holds more than `limit` requests.
//! A token bucket would allow a burst of `limit` followed by a refill and overshoot such a window.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug)]
pub struct Pacer {
    limit: usize,
    period: Duration,
    sent: Mutex<VecDeque<Instant>>,
}

impl Pacer {
    pub fn new(limit: u32, period: Duration) -> Self {
        // Graph counts requests when they arrive, we when they leave: a 2% margin absorbs the
        // difference in transit times so that our window never looks fuller on Graph's side.
        let period = period.saturating_add(period / 50);
        Pacer { limit: limit.max(1) as usize, period, sent: Mutex::new(VecDeque::new()) }
    }

    /// Waits until one more request fits in the window, then records it. Callers queue on the mutex,
    /// so concurrent requests are admitted in order.
    pub async fn acquire(&self) {
        let mut sent = self.sent.lock().await;
        loop {
            let now = Instant::now();
            while sent.front().is_some_and(|&t| now.duration_since(t) >= self.period) {
                sent.pop_front();
            }
            if sent.len() < self.limit {
                sent.push_back(now);
                return;
            }
            let oldest = *sent.front().expect("window is full, so not empty");
            // A period too long for an Instant: the window never frees, as if it ended in 100 years.
            let until =
                oldest.checked_add(self.period).unwrap_or_else(|| oldest + Duration::from_secs(100 * 365 * 86_400));
            tokio::time::sleep_until(until).await;
        }
    }

    /// Pushes the window forward after Graph said 429: Graph keeps counting while it throttles, so the
    /// next request waits at least `delay` regardless of what the local window thinks.
    pub async fn pause_for(&self, delay: Duration) {
        let mut sent = self.sent.lock().await;
        let until = Instant::now() + delay;
        // Fill the window with synthetic entries that expire when the pause ends.
        let stamp = until.checked_sub(self.period).unwrap_or(until);
        sent.clear();
        sent.extend(std::iter::repeat_n(stamp, self.limit));
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
}
