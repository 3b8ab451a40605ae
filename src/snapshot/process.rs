//! The standard process metrics of Prometheus' client libraries (`process_cpu_seconds_total`,
//! memory, file descriptors, start time, threads), read from /proc on Linux; on other systems there
//! are none. They change at every scrape, so they are not part of the cached exposition but follow
//! it (see [`super::exposition::Suffix`]).

use super::render::write_f64;

/// Name, type and HELP of each family, as client_golang (and the Rust `prometheus` crate for
/// `process_threads`) write them, in the order they are exported.
const PROCESS_FAMILIES: [(&str, &str, &str); 7] = [
    ("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds."),
    ("process_max_fds", "gauge", "Maximum number of open file descriptors."),
    ("process_open_fds", "gauge", "Number of open file descriptors."),
    ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes."),
    ("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds."),
    ("process_threads", "gauge", "Number of OS threads in the process."),
    ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes."),
];

/// The process metrics in the text format; a family whose value cannot be read is left out.
pub fn render() -> Vec<u8> {
    let values = read();
    let mut text = Vec::with_capacity(1024);
    for (name, kind, help) in PROCESS_FAMILIES {
        let Some((_, value)) = values.iter().find(|(n, _)| *n == name) else { continue };
        text.extend_from_slice(format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} ").as_bytes());
        write_f64(&mut text, *value);
        text.push(b'\n');
    }
    text
}

#[cfg(target_os = "linux")]
fn read() -> Vec<(&'static str, f64)> {
    use procfs::process::{LimitValue, Process};

    let mut values = Vec::with_capacity(PROCESS_FAMILIES.len());
    let Ok(me) = Process::myself() else { return values };
    if let Ok(stat) = me.stat() {
        let ticks = procfs::ticks_per_second() as f64;
        values.push(("process_cpu_seconds_total", (stat.utime + stat.stime) as f64 / ticks));
        values.push(("process_resident_memory_bytes", stat.rss.saturating_mul(procfs::page_size()) as f64));
        values.push(("process_virtual_memory_bytes", stat.vsize as f64));
        values.push(("process_threads", stat.num_threads as f64));
        if let Ok(boot) = procfs::boot_time_secs() {
            values.push(("process_start_time_seconds", boot as f64 + stat.starttime as f64 / ticks));
        }
    }
    if let Ok(open) = me.fd_count() {
        values.push(("process_open_fds", open as f64));
    }
    if let Ok(limits) = me.limits() {
        let max = match limits.max_open_files.soft_limit {
            LimitValue::Value(v) => v as f64,
            LimitValue::Unlimited => f64::INFINITY,
        };
        values.push(("process_max_fds", max));
    }
    values
}

#[cfg(not(target_os = "linux"))]
fn read() -> Vec<(&'static str, f64)> {
    Vec::new()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

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
