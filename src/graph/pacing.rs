//! Request pacing per (app, tenant): Graph's reports quota is "5 requests per 10 seconds", a sliding
//! window, so the pacer guarantees that no window of `period` ever holds more than `limit` requests.
//! A token bucket would allow a burst of `limit` followed by a refill and overshoot such a window.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub(crate) struct Pacer {
    limit: usize,
    period: Duration,
    /// Admits waiting requests in order.
    queue: tokio::sync::Mutex<()>,
    /// The requests in the window. Graph counts a request when it arrives, somewhere between when it
    /// left and when its answer came back; a request slowed on its way (a busy host, a slow network)
    /// would otherwise land in Graph's window later than in ours, next to the ones sent after it. So
    /// a request stays in the window while it is in flight, and `period` after its answer.
    window: std::sync::Mutex<Vec<Entry>>,
    /// Woken when an answer arrives, which may free the window.
    answered: tokio::sync::Notify,
    next_id: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    id: u64,
    /// When it was sent, then when its answer arrived (or the end of a pause after a 429).
    at: Instant,
    in_flight: bool,
}

/// A request admitted by [`Pacer::acquire`]; dropping it, when the answer has arrived, starts its
/// `period` in the window from that moment.
pub(crate) struct Sent<'a> {
    pacer: &'a Pacer,
    id: u64,
}

impl Drop for Sent<'_> {
    fn drop(&mut self) {
        let now = Instant::now();
        {
            let mut window = self.pacer.window.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(entry) = window.iter_mut().find(|e| e.id == self.id) {
                entry.at = entry.at.max(now);
                entry.in_flight = false;
            }
        }
        self.pacer.answered.notify_waiters();
    }
}

/// A wait for the window in progress, reported to [`Pacer::acquire_reporting`]'s callback.
struct Waiting<F: Fn(bool)> {
    report: F,
    on: bool,
}

impl<F: Fn(bool)> Drop for Waiting<F> {
    fn drop(&mut self) {
        if self.on {
            (self.report)(false);
        }
    }
}

/// Window entries that stand for no request (a pause after a 429).
const PAUSE: u64 = u64::MAX;

impl Pacer {
    pub(crate) fn new(limit: u32, period: Duration) -> Self {
        // A 2% margin on top, for clocks and rounding.
        let period = period.saturating_add(period / 50);
        Pacer {
            limit: limit.max(1) as usize,
            period,
            queue: tokio::sync::Mutex::new(()),
            window: std::sync::Mutex::new(Vec::new()),
            answered: tokio::sync::Notify::new(),
            next_id: AtomicU64::new(0),
        }
    }

    /// Waits until one more request fits in the window, then records it. Callers queue on a mutex,
    /// so concurrent requests are admitted in order. Keep the returned [`Sent`] until the answer has
    /// arrived.
    #[cfg(test)]
    pub(crate) async fn acquire(&self) -> Sent<'_> {
        self.acquire_reporting(|_| {}).await
    }

    /// [`acquire`](Self::acquire), calling `waiting(true)` when the request has to wait for the
    /// window (Graph's quota) and `waiting(false)` once it is admitted after such a wait, so a long
    /// sweep can say that it waits for the quota rather than for Graph.
    pub(crate) async fn acquire_reporting(&self, waiting: impl Fn(bool)) -> Sent<'_> {
        let _turn = self.queue.lock().await;
        // Reports the end of the wait also when the request is dropped while waiting (a cancelled
        // prefetch), so that the flag does not outlive it.
        let mut wait = Waiting { report: waiting, on: false };
        loop {
            // Registered before the window is read, so an answer arriving meanwhile is not missed.
            let answered = self.answered.notified();
            let now = Instant::now();
            let wake = {
                let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
                window.retain(|e| e.in_flight || now.saturating_duration_since(e.at) < self.period);
                if window.len() < self.limit {
                    let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                    window.push(Entry { id, at: now, in_flight: true });
                    drop(wait);
                    return Sent { pacer: self, id };
                }
                // The first answered entry to leave the window; none while all are in flight.
                window.iter().filter(|e| !e.in_flight).map(|e| e.at).min().map(|oldest| {
                    // A period too long for an Instant: the window never frees, as if it ended in 100 years.
                    oldest.checked_add(self.period).unwrap_or_else(|| oldest + Duration::from_secs(100 * 365 * 86_400))
                })
            };
            if !wait.on {
                wait.on = true;
                (wait.report)(true);
            }
            match wake {
                Some(wake) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(wake) => {}
                        _ = answered => {}
                    }
                }
                None => answered.await,
            }
        }
    }

    /// Pushes the window forward after Graph said 429: Graph keeps counting while it throttles, so the
    /// next request waits at least `delay` regardless of what the local window thinks. Requests in the
    /// window stay (and those in flight keep counting until answered); the window is filled up to
    /// its limit with entries that expire when the pause ends.
    pub(crate) async fn pause_for(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let stamp = until.checked_sub(self.period).unwrap_or(until);
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        for entry in window.iter_mut() {
            entry.at = entry.at.max(stamp);
        }
        let missing = self.limit.saturating_sub(window.len());
        window.extend(std::iter::repeat_n(Entry { id: PAUSE, at: stamp, in_flight: false }, missing));
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
    async fn a_wait_for_the_window_is_reported_and_its_end_too() {
        let pacer = Pacer::new(1, Duration::from_secs(10));
        let events = std::sync::Mutex::new(Vec::new());
        let report = |w| events.lock().unwrap().push(w);
        drop(pacer.acquire_reporting(report).await);
        assert!(events.lock().unwrap().is_empty(), "no wait, nothing reported");
        drop(pacer.acquire_reporting(report).await);
        assert_eq!(*events.lock().unwrap(), [true, false]);
        // A request dropped while it waits ends its wait too.
        let waiting = pacer.acquire_reporting(report);
        assert!(tokio::time::timeout(Duration::from_secs(1), waiting).await.is_err());
        assert_eq!(*events.lock().unwrap(), [true, false, true, false]);
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
    async fn a_request_in_flight_longer_than_the_period_keeps_its_place() {
        let pacer = Pacer::new(1, Duration::from_secs(10));
        let start = Instant::now();
        let slow = pacer.acquire().await;
        let answer = async {
            tokio::time::sleep(Duration::from_secs(15)).await;
            drop(slow);
        };
        let (_, ()) = tokio::join!(pacer.acquire(), answer);
        // Not at 10.2 s while the first request is still on its way: 10.2 s after its answer.
        assert_eq!(start.elapsed(), Duration::from_millis(25_200));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_keeps_the_requests_in_flight() {
        let pacer = Pacer::new(2, Duration::from_secs(10));
        let start = Instant::now();
        let (a, b) = (pacer.acquire().await, pacer.acquire().await);
        pacer.pause_for(Duration::from_secs(1)).await;
        tokio::time::advance(Duration::from_secs(3)).await;
        drop((a, b));
        // Both answers came at 3 s: the window holds them until 13.2 s, not just the 1 s pause.
        pacer.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(13_200));
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
