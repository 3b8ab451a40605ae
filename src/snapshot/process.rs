//! The standard process metrics of Prometheus' client libraries (`process_cpu_seconds_total`,
//! memory, file descriptors, start time, threads), collected by the `prometheus` crate's
//! `ProcessCollector` from /proc on Linux; on other systems there are none. They change at every
//! scrape, so they are not part of the cached exposition but follow it (see
//! [`super::exposition::Suffix`]), read at most once per `PROCESS_METRICS_MAX_AGE`.
//!
//! The registry holds only these. `entra_authmethods_build_info` and the reload status are
//! instance-level too, but they change only when the cached exposition is rendered anyway (never, and
//! at a reload, which invalidates it), so encoding them at every scrape would buy nothing; in the
//! suffix they would also be up to a second late after a reload and missing from `--once`.
//!
//! The crate's collector keeps CPU time in whole seconds (an integer counter; tikv/rust-prometheus
//! issues 451 and 560): `rate(process_cpu_seconds_total[1m])` of an exporter idling at 1 % would read
//! 0 and then a spike of 1/60 every 100 s, so [`Process`] puts getrusage(2)'s user + system time, in
//! microseconds, in its place, at least as fine as client_golang's /proc ticks (the dashboards chart
//! that rate). What stays different from client_golang: the start time in whole seconds (what
//! `changes()` in the restart alert needs is unaffected), and a `process_max_fds` of 0 for an
//! unlimited soft limit, which Linux does not allow for RLIMIT_NOFILE (it is capped by `fs.nr_open`).

use std::sync::LazyLock;

use prometheus::{Encoder, Registry, TextEncoder};

use super::families::WEB_TLS_CERTIFICATE_EXPIRY;

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let registry = Registry::new();
    #[cfg(target_os = "linux")]
    registry
        .register(Box::new(Process(prometheus::process_collector::ProcessCollector::for_self())))
        .expect("the only collector of an empty registry");
    registry
});

/// The crate's process collector with a fractional `process_cpu_seconds_total`.
#[cfg(target_os = "linux")]
struct Process(prometheus::process_collector::ProcessCollector);

#[cfg(target_os = "linux")]
impl prometheus::core::Collector for Process {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        self.0.desc()
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        let mut families = self.0.collect();
        let cpu = cpu_seconds();
        for family in families.iter_mut().filter(|f| f.name() == "process_cpu_seconds_total") {
            for metric in family.mut_metric() {
                if let Some(seconds) = cpu {
                    let mut counter = prometheus::proto::Counter::default();
                    counter.set_value(seconds);
                    metric.set_counter(counter);
                }
            }
        }
        families
    }
}

/// User and system CPU time of the whole process (every thread), in seconds.
#[cfg(target_os = "linux")]
fn cpu_seconds() -> Option<f64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: the pointer is valid for writing one rusage, which getrusage fills when it returns 0.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: zero-initialised (a valid rusage of plain integers) and filled by getrusage.
    let usage = unsafe { usage.assume_init() };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

/// The process metrics in the text format, sorted by name; a family whose value cannot be read is
/// left out.
pub fn render() -> Vec<u8> {
    let mut text = Vec::with_capacity(1024);
    if let Err(e) = TextEncoder::new().encode(&REGISTRY.gather(), &mut text) {
        // Only a malformed family fails, and the collector makes none: serve the exposition without
        // the block rather than fail the scrape.
        tracing::warn!("cannot encode the process metrics: {e}");
        text.clear();
    }
    text
}

/// Appends the TLS serving certificate's family (instance-level, read at scrape time like the process
/// metrics) to the per-scrape text (`i64::MIN`: no certificate date).
pub(crate) fn render_web_tls_expiry(text: &mut Vec<u8>, not_after: i64) {
    use std::io::Write;
    if not_after == i64::MIN {
        return;
    }
    let family = super::FAMILIES.iter().find(|f| f.name == WEB_TLS_CERTIFICATE_EXPIRY);
    let help = family.map_or("", |f| f.help);
    let _ = write!(
        text,
        "# HELP {WEB_TLS_CERTIFICATE_EXPIRY} {help}\n# TYPE {WEB_TLS_CERTIFICATE_EXPIRY} gauge\n{WEB_TLS_CERTIFICATE_EXPIRY} {not_after}\n"
    );
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Name, type and HELP of each family, as client_golang writes them, in the order they are exported.
    const PROCESS_FAMILIES: [(&str, &str, &str); 7] = [
        ("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds."),
        ("process_max_fds", "gauge", "Maximum number of open file descriptors."),
        ("process_open_fds", "gauge", "Number of open file descriptors."),
        ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes."),
        ("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds."),
        ("process_threads", "gauge", "Number of OS threads in the process."),
        ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes."),
    ];

    fn value(text: &str, name: &str) -> f64 {
        let line = text.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name}"));
        line[name.len() + 1..].parse().unwrap()
    }

    #[test]
    fn every_family_is_read_with_help_and_type_and_plausible_values() {
        let text = String::from_utf8(render()).unwrap();
        for (name, kind, help) in PROCESS_FAMILIES {
            assert!(text.contains(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} ")), "{name}:\n{text}");
        }
        assert_eq!(text.lines().count(), 3 * PROCESS_FAMILIES.len());
        let names: Vec<&str> =
            text.lines().filter(|l| !l.starts_with('#')).map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(names, PROCESS_FAMILIES.map(|(name, _, _)| name), "sorted by name");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        let start = value(&text, "process_start_time_seconds");
        assert!(start <= now && start > now - 3600.0, "started at {start}, now {now}");
        assert!(value(&text, "process_resident_memory_bytes") > 0.0);
        assert!(value(&text, "process_virtual_memory_bytes") >= value(&text, "process_resident_memory_bytes"));
        assert!(value(&text, "process_open_fds") >= 1.0);
        assert!(value(&text, "process_open_fds") <= value(&text, "process_max_fds"));
        assert!(value(&text, "process_threads") >= 1.0);
        assert!(value(&text, "process_cpu_seconds_total") >= 0.0);
    }

    /// Fractional (the crate's own value is whole seconds) and never going back.
    #[test]
    fn cpu_time_is_fractional_and_grows() {
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let first = value(&String::from_utf8(render()).unwrap(), "process_cpu_seconds_total");
        assert!(first > 0.0 && first.fract() != 0.0, "{first}");
        let second = value(&String::from_utf8(render()).unwrap(), "process_cpu_seconds_total");
        assert!(second >= first, "{first} then {second}");
    }
}
