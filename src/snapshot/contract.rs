//! docs/metrics.md, the metric contract, rendered from the family table ([`super::FAMILIES`]).
//! tests/contract.rs compares it with the committed file; `UPDATE_CONTRACT=1 cargo test --test
//! contract` writes it.

use std::fmt::Write;

use super::families::{FAMILIES, Family, LabelValues, PROCESS_FAMILIES, Presence, SHARED_LABELS};

/// The command that regenerates docs/metrics.md.
pub const REGENERATE: &str = "UPDATE_CONTRACT=1 cargo test --test contract";

fn kind(counter: bool) -> &'static str {
    if counter { "counter" } else { "gauge" }
}

fn values(v: &LabelValues) -> String {
    match v {
        LabelValues::Closed(set) => set.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "),
        LabelValues::Open(text) => format!("open: {text}"),
    }
}

fn labels(f: &Family) -> String {
    if f.labels.is_empty() {
        return "none".into();
    }
    f.labels.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", ")
}

/// The families sorted by name, as the exposition lists them.
fn sorted() -> Vec<&'static Family> {
    let mut families: Vec<&Family> = FAMILIES.iter().collect();
    families.sort_by_key(|f| f.name);
    families
}

/// The text of docs/metrics.md.
pub fn markdown() -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Metric contract");
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "<!-- Generated from the family table in src/snapshot/families.rs; do not edit. Regenerate with `{REGENERATE}`. -->"
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "Every metric family the exporter exports, with its type, labels and their values, meaning, the Microsoft \
Graph operation its numbers come from and the version that introduced it. Dashboards, recording rules and alerts use \
only what this page lists. A rename, a label change or a new family changes this page and the golden exposition \
(tests/testdata/golden/exposition.prom: a simulated tenant of a fixed seed rendered at a fixed clock; regenerate it \
with `UPDATE_GOLDEN=1 cargo test --test contract`), so each is a reviewed diff."
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "Conventions: the prefix is `entra_authmethods_`; every series of a tenant carries `tenant`; counts are gauges \
because Graph reports state, not events; label values from Graph are passed through exactly as Graph spells them, so \
they match Microsoft's documentation, and only label names are the exporter's. No label holds a per-user identifier. \
Data families are cached from the last successful poll of their report and dropped once older than its \
`max_staleness`; the health families stay."
    );
    let _ = writeln!(w);
    let _ = writeln!(w, "## Families");
    let _ = writeln!(w);
    let _ = writeln!(w, "| Name | Type | Labels | Since | Exported |");
    let _ = writeln!(w, "| --- | --- | --- | --- | --- |");
    for f in sorted() {
        let _ = writeln!(
            w,
            "| [`{n}`](#{n}) | {t} | {l} | {s} | {p} |",
            n = f.name,
            t = kind(f.counter),
            l = labels(f),
            s = f.since,
            p = f.presence.describe()
        );
    }
    for (name, counter) in PROCESS_FAMILIES {
        let _ = writeln!(
            w,
            "| [`{name}`](#process-metrics) | {} | none | 0.1.0 | {} |",
            kind(*counter),
            Presence::Linux.describe()
        );
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "## Shared labels");
    let _ = writeln!(w);
    let _ = writeln!(w, "These labels take the same values in every family that has them.");
    let _ = writeln!(w);
    let _ = writeln!(w, "| Label | Values |");
    let _ = writeln!(w, "| --- | --- |");
    for (name, v) in SHARED_LABELS {
        let _ = writeln!(w, "| `{name}` | {} |", values(v));
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "## Family details");
    for f in sorted() {
        let _ = writeln!(w);
        let _ = writeln!(w, "### {}", f.name);
        let _ = writeln!(w);
        let _ = writeln!(w, "- Type: {}", kind(f.counter));
        let _ = writeln!(w, "- Meaning: {}", f.help);
        let _ = writeln!(w, "- Source: {}", f.source);
        let _ = writeln!(w, "- Exported: {}", f.presence.describe());
        let _ = writeln!(w, "- Since: {}", f.since);
        if f.labels.is_empty() {
            let _ = writeln!(w, "- Labels: none");
            continue;
        }
        let _ = writeln!(w, "- Labels:");
        for l in f.labels {
            let v = f.label_values(l).map(values).unwrap_or_else(|| "UNDOCUMENTED".into());
            let _ = writeln!(w, "  - `{l}`: {v}");
        }
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "## Process metrics");
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "The standard process metrics of Prometheus' client libraries, with their usual names, types and HELP texts, \
no labels, since 0.1.0, on Linux only (read from /proc at scrape time and cached for one second; absent on other \
systems, and a family whose value cannot be read is left out): {}.",
        PROCESS_FAMILIES.iter().map(|(n, _)| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    );
    md
}
