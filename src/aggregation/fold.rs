//! Bounded label values from Graph (`[graph] max_method_values`). Method names come from outside: a
//! Graph that sent ever new ones would otherwise make ever new series. Per tenant and label, values
//! beyond the documented ones are admitted in the order first seen, up to the cap, and stay admitted
//! for the life of the tenant's entry (so series do not churn between polls); the rest fold into
//! [`OTHER`].

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use super::interned::LabelValue;

/// The label value the folded values are counted under.
pub(crate) const OTHER: &str = "other";

/// Distinct folded values remembered per poll of a report and label, so that folding costs bounded
/// memory whatever Graph sends: past it a poll stops remembering new ones (they still fold), and
/// `entra_authmethods_label_values_folded` reads this number, meaning "at least".
pub(crate) const MAX_FOLDED_REMEMBERED: usize = 10_000;

/// A label whose values come from Graph and are bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum BoundedLabel {
    /// `method` of the families of registered methods, activities, sign-ins and events.
    Method,
    /// `method` of `entra_authmethods_users_by_default_method` (Graph's
    /// `userPreferredMethodForSecondaryAuthentication`), bounded apart from the methods.
    DefaultMethod,
    /// `feature` of the activity and event families (Graph's `feature`: `registration`, `reset`).
    Feature,
    /// `status` of `entra_authmethods_credential_registrations` (Graph's `registrationStatus`).
    Status,
}

/// Labels bounded per tenant.
const LABELS: usize = 4;

impl BoundedLabel {
    pub(crate) const ALL: [BoundedLabel; LABELS] =
        [BoundedLabel::Method, BoundedLabel::DefaultMethod, BoundedLabel::Feature, BoundedLabel::Status];

    /// The `label` value of `entra_authmethods_label_values_folded`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            BoundedLabel::Method => "method",
            BoundedLabel::DefaultMethod => "default_method",
            BoundedLabel::Feature => "feature",
            BoundedLabel::Status => "status",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One tenant's admitted values and what its reports folded, shared by its pollers and kept with
/// its entry in the store (across reloads that keep the tenant's numbers).
#[derive(Debug, Default)]
pub(crate) struct LabelBounds {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Per label, the values admitted beyond the documented ones, in the order first seen.
    admitted: [Vec<String>; LABELS],
    /// Per label and report, hashes of the distinct values that report's last successful poll
    /// folded, at most [`MAX_FOLDED_REMEMBERED`]: a report's set is replaced by its next one.
    folded: [BTreeMap<&'static str, HashSet<u64>>; LABELS],
}

impl LabelBounds {
    /// A folder for one poll of `label`: `kept` are the documented values (never folded), `cap`
    /// bounds the others. Lowering the cap drops the values admitted last.
    pub(crate) fn folder(self: &Arc<Self>, label: BoundedLabel, kept: HashSet<String>, cap: usize) -> Folder {
        let mut state = self.lock();
        state.admitted[label.index()].truncate(cap);
        Folder { bounds: self.clone(), label, kept, cap, folded: HashSet::new() }
    }

    /// Distinct values folded per label, over the latest successful poll of every report, at most
    /// [`MAX_FOLDED_REMEMBERED`] (which then means at least that many).
    pub(crate) fn folded_counts(&self) -> [(BoundedLabel, usize); LABELS] {
        let state = self.lock();
        BoundedLabel::ALL.map(|label| {
            let sets = &state.folded[label.index()];
            let distinct = match sets.len() {
                0 => 0,
                1 => sets.values().next().map_or(0, HashSet::len),
                _ => {
                    let mut union = HashSet::new();
                    for hash in sets.values().flatten() {
                        if union.len() == MAX_FOLDED_REMEMBERED {
                            break;
                        }
                        union.insert(hash);
                    }
                    union.len()
                }
            };
            (label, distinct.min(MAX_FOLDED_REMEMBERED))
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether a value keeps its own label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    Kept,
    /// Folded into [`OTHER`]; the value's hash, to tell distinct folded values apart.
    Folded(u64),
}

/// The admissions of one poll of one label.
#[derive(Debug)]
pub(crate) struct Folder {
    bounds: Arc<LabelBounds>,
    label: BoundedLabel,
    kept: HashSet<String>,
    cap: usize,
    /// Hashes of the values this poll folded, at most [`MAX_FOLDED_REMEMBERED`].
    folded: HashSet<u64>,
}

impl Folder {
    /// Decides for `value`. A value Graph itself spells `other` always folds, so `other` means one
    /// thing.
    pub(crate) fn admit(&mut self, value: &str) -> Admission {
        if value != OTHER && self.kept.contains(value) {
            return Admission::Kept;
        }
        let hash = hash(value);
        if self.folded.contains(&hash) {
            return Admission::Folded(hash);
        }
        if value != OTHER {
            let mut state = self.bounds.lock();
            let admitted = &mut state.admitted[self.label.index()];
            if admitted.iter().any(|a| a == value) {
                return Admission::Kept;
            }
            if admitted.len() < self.cap {
                admitted.push(value.to_string());
                return Admission::Kept;
            }
        }
        // Past the bound a value is not remembered: it folds again the same way (a value the cap
        // refused stays refused), only through the lock.
        if self.folded.len() < MAX_FOLDED_REMEMBERED {
            self.folded.insert(hash);
        }
        Admission::Folded(hash)
    }

    /// `value` as exported: itself, or [`OTHER`].
    pub(crate) fn label<'v>(&mut self, value: &'v str) -> &'v str {
        match self.admit(value) {
            Admission::Kept => value,
            Admission::Folded(_) => OTHER,
        }
    }

    /// Counts Graph aggregated: the folded values' counts are summed into [`OTHER`], merging rows
    /// whose other labels are equal. `method` is the bounded label of a row.
    pub(crate) fn fold_sum<R, L: LabelValue>(
        &mut self,
        rows: Vec<R>,
        method: impl Fn(&mut R) -> &mut L,
        same: impl Fn(&R, &R) -> bool,
        add: impl Fn(&mut R, &R),
    ) -> Vec<R> {
        let mut out: Vec<R> = Vec::with_capacity(rows.len());
        for mut row in rows {
            if self.admit(method(&mut row).as_label()) == Admission::Kept {
                out.push(row);
                continue;
            }
            *method(&mut row) = L::other();
            match out.iter_mut().find(|r| same(r, &row)) {
                Some(r) => add(r, &row),
                None => out.push(row),
            }
        }
        out
    }

    /// Whether this poll folded anything.
    pub(crate) fn folded_any(&self) -> bool {
        !self.folded.is_empty()
    }

    /// Records what this poll of `report` folded (call once its poll succeeded).
    pub(crate) fn finish(self, report: &'static str) {
        let mut state = self.bounds.lock();
        state.folded[self.label.index()].insert(report, self.folded);
    }
}

fn hash(value: &str) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// The documented values of a label, as the set a [`Folder`] keeps.
pub(crate) fn kept<'a>(values: impl IntoIterator<Item = &'a str>) -> HashSet<String> {
    values.into_iter().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_admitted_in_first_seen_order_up_to_the_cap_and_stay() {
        let bounds = Arc::new(LabelBounds::default());
        let mut f = bounds.folder(BoundedLabel::Method, kept(["email"]), 2);
        assert_eq!(f.label("email"), "email", "documented values never count against the cap");
        assert_eq!(f.label("a"), "a");
        assert_eq!(f.label("b"), "b");
        assert_eq!(f.label("c"), OTHER);
        assert_eq!(f.label("a"), "a");
        assert_eq!(f.label("other"), OTHER, "Graph's own 'other' folds");
        assert!(f.folded_any());
        f.finish("registration_details");
        assert_eq!(bounds.folded_counts()[0], (BoundedLabel::Method, 2));

        // The next poll sees c first: a and b stay admitted, c stays folded.
        let mut f = bounds.folder(BoundedLabel::Method, kept(["email"]), 2);
        assert_eq!([f.label("c"), f.label("b"), f.label("a")], [OTHER, "b", "a"]);
        f.finish("registration_details");
        assert_eq!(bounds.folded_counts()[0].1, 1);
        // Another report folding the same value counts it once; the other label is apart.
        let mut g = bounds.folder(BoundedLabel::Method, kept(["email"]), 2);
        assert_eq!([g.label("c"), g.label("d")], [OTHER, OTHER]);
        g.finish("sign_ins_by_method");
        assert_eq!(bounds.folded_counts()[..2], [(BoundedLabel::Method, 2), (BoundedLabel::DefaultMethod, 0)]);
        // A lower cap drops the values admitted last.
        let mut f = bounds.folder(BoundedLabel::Method, kept([]), 1);
        assert_eq!([f.label("b"), f.label("a")], [OTHER, "a"]);
    }

    /// Folding remembers at most MAX_FOLDED_REMEMBERED distinct values per poll and report, and the
    /// count exported stops there too, however many reports fold different values.
    #[test]
    fn folded_values_are_remembered_up_to_a_bound() {
        let bounds = Arc::new(LabelBounds::default());
        let mut f = bounds.folder(BoundedLabel::Method, kept(["email"]), 1);
        assert_eq!(f.label("admitted"), "admitted");
        let past = MAX_FOLDED_REMEMBERED + 5;
        for i in 0..past {
            assert_eq!(f.label(&format!("x{i}")), OTHER);
        }
        assert_eq!(f.folded.len(), MAX_FOLDED_REMEMBERED, "no more remembered");
        // Values not remembered still fold, and kept and admitted ones are still kept.
        assert_eq!(
            [f.label(&format!("x{}", past - 1)), f.label("admitted"), f.label("email")],
            [OTHER, "admitted", "email"]
        );
        assert!(f.folded_any());
        f.finish("registration_details");
        assert_eq!(bounds.folded_counts()[0], (BoundedLabel::Method, MAX_FOLDED_REMEMBERED));
        // Another report folding other values: the union is counted up to the bound as well.
        let mut g = bounds.folder(BoundedLabel::Method, kept([]), 1);
        for i in 0..MAX_FOLDED_REMEMBERED {
            g.label(&format!("y{i}"));
        }
        g.finish("sign_ins_by_method");
        assert_eq!(bounds.folded_counts()[0], (BoundedLabel::Method, MAX_FOLDED_REMEMBERED));
        // Below the bound the union is exact.
        let mut h = bounds.folder(BoundedLabel::Feature, kept([]), 0);
        let mut k = bounds.folder(BoundedLabel::Feature, kept([]), 0);
        h.label("a");
        h.label("b");
        k.label("b");
        k.label("c");
        h.finish("user_events_summary");
        k.finish("user_credential_usage_details");
        assert_eq!(bounds.folded_counts()[2], (BoundedLabel::Feature, 3));
    }

    #[test]
    fn graph_aggregated_counts_are_summed_into_other() {
        let bounds = Arc::new(LabelBounds::default());
        let mut f = bounds.folder(BoundedLabel::Method, kept(["email"]), 1);
        let rows: Vec<(String, i64)> =
            [("email", 5), ("x", 1), ("y", 2), ("z", 4)].map(|(m, n)| (m.to_string(), n)).into();
        let folded = f.fold_sum(rows, |r| &mut r.0, |a, b| a.0 == b.0, |a, b| a.1 += b.1);
        assert_eq!(folded, [("email".to_string(), 5), ("x".to_string(), 1), ("other".to_string(), 6)]);
    }

    /// In the per-user counts `other` counts users with at least one folded method, once each; the
    /// methods-registered buckets and the strength tiers still see every method.
    #[test]
    fn the_registration_aggregator_counts_users_under_other_once() {
        use crate::aggregation::RegistrationAggregator;
        use crate::config::{Breakdown, UserRole, UserType};
        use crate::reports::registration_details::UserRegistrationDetails;
        let bounds = Arc::new(LabelBounds::default());
        let all = Breakdown { user_type: UserType::All, user_role: UserRole::All };
        let methods = bounds.folder(BoundedLabel::Method, kept(["mobilePhone"]), 1);
        let defaults = bounds.folder(BoundedLabel::DefaultMethod, kept(["sms"]), 0);
        let mut agg = RegistrationAggregator::new(&[all]).with_folders(methods, defaults);
        let row = |methods: &[&'static str], default: &'static str| UserRegistrationDetails {
            methods_registered: methods.iter().map(|m| (*m).into()).collect(),
            user_preferred_method_for_secondary_authentication: Some(default.into()),
            ..Default::default()
        };
        agg.add_page(&[
            row(&["a", "mobilePhone"], "sms"),
            row(&["b", "c", "b"], "x"),
            row(&["mobilePhone", "c", "d"], "y"),
            row(&["a"], "x"),
        ]);
        assert!(agg.folded_any());
        let s = agg.finish();
        let b = &s.breakdowns[0];
        assert_eq!(b.methods["a"], 2);
        assert_eq!(b.methods["mobilePhone"], 2);
        assert_eq!(b.methods[OTHER], 2, "users with b, c or d, each once");
        assert!(!b.methods.contains_key("b"));
        assert_eq!(b.method_counts, [0, 1, 2, 1, 0], "b and c are two methods, counted before folding");
        assert_eq!(b.strength, Some([0, 0, 0, 2, 2]));
        assert_eq!(b.default_methods["sms"], 1);
        assert_eq!(b.default_methods[OTHER], 3);
        assert_eq!(bounds.folded_counts()[..2], [(BoundedLabel::Method, 3), (BoundedLabel::DefaultMethod, 2)]);
    }
}
