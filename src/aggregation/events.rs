//! Event lists (userEventsSummary, userCredentialUsageDetails) → counts by feature, method and outcome,
//! and failures by reason capped to the top N plus `other`, so label cardinality stays bounded
//! whatever Graph puts in free-text failure reasons. Memory during a sweep is bounded too: per
//! feature, at most [`MAX_TRACKED_REASONS`] distinct reasons are counted by name.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::fold::Folder;
use crate::reports::legacy::UsageEvent;

/// Label value for failures whose reason is empty.
pub(crate) const UNSPECIFIED_REASON: &str = "unspecified";
/// Label value summing the reasons beyond the top N.
pub(crate) const OTHER_REASON: &str = "other";

/// Distinct failure reasons a sweep counts by name per feature: the first seen. An exact top N over
/// every distinct reason would need a count per reason, as many as Graph sends; past this bound a
/// failure whose reason was first seen later counts under `other` at once. Every count exported by
/// name is still exact (a reason is counted from its first failure on), and the top N is exact
/// whenever a feature has at most this many distinct reasons in the sweep (ten times the largest
/// `max_failure_reasons`).
pub(crate) const MAX_TRACKED_REASONS: usize = 1_000;

/// One feature's failures during a sweep.
#[derive(Debug, Default)]
struct Reasons {
    /// The first [`MAX_TRACKED_REASONS`] distinct reasons, each with its failures.
    counts: HashMap<String, u64>,
    /// Failures whose reason was first seen once `counts` was full.
    untracked: u64,
}

#[derive(Debug)]
pub(crate) struct EventAggregator {
    /// Events before this instant are outside the lookback window; `None` counts everything.
    since: Option<OffsetDateTime>,
    max_reasons: usize,
    events: BTreeMap<(String, String, &'static str), u64>,
    /// Per feature (bounded by the feature folder), its failures by reason.
    failures: HashMap<String, Reasons>,
    pub(crate) skipped_outside_window: u64,
    /// Bounds on the method and feature values (`None`: unbounded); folded as events arrive, so
    /// the maps stay bounded whatever Graph sends.
    folders: Option<(Folder, Folder)>,
}

/// Counts of one sweep.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EventSummary {
    /// (feature, method, outcome) → events; outcome is `success` or `failure`.
    /// Stored as a list of entries: JSON maps cannot have tuple keys.
    #[serde(with = "super::labels::event_entries")]
    pub(crate) events: BTreeMap<(String, String, super::activity::StaticLabel), u64>,
    /// (feature, reason) → failed events, top `max_reasons` per feature plus `other`.
    #[serde(with = "super::labels::entries")]
    pub(crate) failures: BTreeMap<(String, String), u64>,
}

impl EventAggregator {
    pub(crate) fn new(since: Option<OffsetDateTime>, max_reasons: usize) -> Self {
        EventAggregator {
            since,
            max_reasons,
            events: BTreeMap::new(),
            failures: HashMap::new(),
            skipped_outside_window: 0,
            folders: None,
        }
    }

    /// Bounds the `method` values with `methods` and the `feature` values with `features`; each
    /// event has one of each, so `other` is the sum of the folded values' events.
    pub(crate) fn with_folders(mut self, methods: Folder, features: Folder) -> Self {
        self.folders = Some((methods, features));
        self
    }

    /// The folders, to record what this sweep folded once it succeeded.
    pub(crate) fn take_folders(&mut self) -> Vec<Folder> {
        self.folders.take().map(|(m, f)| vec![m, f]).unwrap_or_default()
    }

    pub(crate) fn add(&mut self, e: &UsageEvent) {
        if let Some(since) = self.since {
            // An event without a readable time cannot be placed in the window; Graph documents the
            // property as non-nullable, so this only guards against surprises.
            let at = e.event_date_time.as_deref().and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
            if at.is_none_or(|at| at < since) {
                self.skipped_outside_window += 1;
                return;
            }
        }
        let outcome = if e.is_success { "success" } else { "failure" };
        let (feature, method) = match &mut self.folders {
            Some((methods, features)) => (features.label(&e.feature), methods.label(&e.auth_method)),
            None => (e.feature.as_str(), e.auth_method.as_str()),
        };
        *self.events.entry((feature.to_string(), method.to_string(), outcome)).or_insert(0) += 1;
        if !e.is_success {
            let reason =
                e.failure_reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).unwrap_or(UNSPECIFIED_REASON);
            // Looked up by `&str` first: a feature's name is allocated once per sweep, not per failure.
            if !self.failures.contains_key(feature) {
                self.failures.insert(feature.to_string(), Reasons::default());
            }
            let Some(reasons) = self.failures.get_mut(feature) else { return };
            if let Some(n) = reasons.counts.get_mut(reason) {
                *n += 1;
            } else if reasons.counts.len() < MAX_TRACKED_REASONS {
                reasons.counts.insert(reason.to_string(), 1);
            } else {
                reasons.untracked += 1;
            }
        }
    }

    pub(crate) fn finish(self) -> EventSummary {
        let mut failures = BTreeMap::new();
        for (feature, Reasons { counts, untracked }) in self.failures {
            let mut reasons: Vec<(String, u64)> = counts.into_iter().collect();
            // Most frequent first; ties by name so the cut is deterministic.
            reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let mut other = untracked;
            for (i, (reason, n)) in reasons.into_iter().enumerate() {
                if i < self.max_reasons && reason != OTHER_REASON {
                    failures.insert((feature.clone(), reason), n);
                } else {
                    other += n;
                }
            }
            if other > 0 {
                failures.insert((feature, OTHER_REASON.to_string()), other);
            }
        }
        EventSummary { events: self.events, failures }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(feature: &str, method: &str, ok: bool, reason: &str, at: &str) -> UsageEvent {
        UsageEvent {
            feature: feature.into(),
            auth_method: method.into(),
            is_success: ok,
            failure_reason: Some(reason.into()),
            event_date_time: Some(at.into()),
        }
    }

    #[test]
    fn counts_outcomes_windows_and_caps_reasons() {
        let since = OffsetDateTime::parse("2026-11-26T00:00:00Z", &Rfc3339).unwrap();
        let mut agg = EventAggregator::new(Some(since), 2);
        let now = "2026-11-26T12:00:00Z";
        agg.add(&ev("registration", "email", true, "", now));
        agg.add(&ev("registration", "email", false, "A", now));
        agg.add(&ev("registration", "email", false, "A", now));
        agg.add(&ev("registration", "sms", false, "B", now));
        agg.add(&ev("registration", "sms", false, "C", now));
        agg.add(&ev("registration", "sms", false, "", now));
        agg.add(&ev("reset", "email", false, "A", now));
        agg.add(&ev("reset", "email", false, "A", "2026-11-20T00:00:00Z"));
        let s = agg.finish();
        assert_eq!(s.events[&("registration".into(), "email".into(), "success")], 1);
        assert_eq!(s.events[&("registration".into(), "sms".into(), "failure")], 3);
        assert_eq!(s.events[&("reset".into(), "email".into(), "failure")], 1, "old event outside the window");
        // registration reasons: A=2, B=1, C=1, unspecified=1 → top 2 are A and B (ties by name), other = 2.
        assert_eq!(s.failures[&("registration".into(), "A".into())], 2);
        assert_eq!(s.failures[&("registration".into(), "B".into())], 1);
        assert_eq!(s.failures[&("registration".into(), "other".into())], 2);
        assert_eq!(s.failures.len(), 4);
    }

    /// Past MAX_TRACKED_REASONS distinct reasons of a feature, a new reason counts under `other` at
    /// once; the reasons counted by name keep exact counts, and the top N is taken among them.
    #[test]
    fn distinct_reasons_are_tracked_up_to_a_bound() {
        let mut agg = EventAggregator::new(None, 2);
        let now = "2026-11-26T12:00:00Z";
        for i in 0..MAX_TRACKED_REASONS {
            agg.add(&ev("registration", "email", false, &format!("r{i}"), now));
        }
        agg.add(&ev("registration", "email", false, "r7", now));
        agg.add(&ev("registration", "email", false, "r9", now));
        agg.add(&ev("registration", "email", false, "r9", now));
        // Three failures of a reason first seen past the bound: not counted by name.
        for _ in 0..3 {
            agg.add(&ev("registration", "email", false, "late", now));
        }
        // Another feature has its own bound.
        agg.add(&ev("reset", "email", false, "late", now));
        assert_eq!(agg.failures["registration"].counts.len(), MAX_TRACKED_REASONS);
        assert_eq!(agg.failures["registration"].untracked, 3);
        let s = agg.finish();
        assert_eq!(s.failures[&("registration".into(), "r9".into())], 3);
        assert_eq!(s.failures[&("registration".into(), "r7".into())], 2);
        let total = MAX_TRACKED_REASONS as u64 + 3 + 3;
        assert_eq!(s.failures[&("registration".into(), "other".into())], total - 5, "the rest, the late ones too");
        assert!(!s.failures.contains_key(&("registration".into(), "late".into())));
        assert_eq!(s.failures[&("reset".into(), "late".into())], 1);
        assert_eq!(s.failures.len(), 4);
    }

    /// Folded as events arrive: `other` is the sum of the folded methods' (or features') events, and
    /// the failure reasons of folded features are grouped under feature `other`.
    #[test]
    fn methods_and_features_beyond_the_bound_are_summed_into_other() {
        use super::super::fold::{BoundedLabel, LabelBounds, kept};
        let bounds = std::sync::Arc::new(LabelBounds::default());
        let methods = bounds.folder(BoundedLabel::Method, kept(["email"]), 1);
        let features = bounds.folder(BoundedLabel::Feature, kept(["registration", "reset"]), 0);
        let mut agg = EventAggregator::new(None, 5).with_folders(methods, features);
        let now = "2026-11-26T12:00:00Z";
        agg.add(&ev("registration", "email", true, "", now));
        agg.add(&ev("registration", "x1", true, "", now));
        agg.add(&ev("registration", "x2", true, "", now));
        agg.add(&ev("registration", "x3", true, "", now));
        agg.add(&ev("newFeature", "email", false, "A", now));
        agg.add(&ev("otherNewFeature", "email", false, "A", now));
        let folders = agg.take_folders();
        assert!(folders.iter().all(Folder::folded_any));
        for f in folders {
            f.finish("user_events_summary");
        }
        let s = agg.finish();
        assert_eq!(s.events[&("registration".into(), "x1".into(), "success")], 1, "the first admitted");
        assert_eq!(s.events[&("registration".into(), "other".into(), "success")], 2, "x2 and x3");
        assert_eq!(s.events[&("other".into(), "email".into(), "failure")], 2);
        assert_eq!(s.failures[&("other".into(), "A".into())], 2);
        let counts = bounds.folded_counts();
        assert_eq!((counts[0].1, counts[2]), (2, (BoundedLabel::Feature, 2)));
    }
}
