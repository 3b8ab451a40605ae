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
//! What the crate's collector reports differently from client_golang's: CPU time and the start time
//! in whole seconds (it keeps them in integer metrics), and a `process_max_fds` of 0 for an unlimited
//! soft limit, which Linux does not allow for RLIMIT_NOFILE (it is capped by `fs.nr_open`).

use std::sync::LazyLock;

use prometheus::{Encoder, Registry, TextEncoder};

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let registry = Registry::new();
    #[cfg(target_os = "linux")]
    registry
        .register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))
        .expect("the only collector of an empty registry");
    registry
});

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
}
