//! The exporter's state as immutable values: per tenant × report the last good data and the health of
//! the polls that produced it. Pollers write here; a change renders and compresses the changed
//! tenant's parts of the exposition once (`parts`), and scrapes only join and copy the cached bytes.

mod contract;
mod exposition;
mod families;
mod family_names;
mod parts;
mod process;
mod progress;
mod reference;
mod render;
mod report_data;
mod state;
mod telemetry;
mod tenant;

pub use contract::{REGENERATE as REGENERATE_CONTRACT, markdown as contract_markdown};
pub(crate) use exposition::Pieces;
pub use families::{FAMILIES, Family, LabelValues, PROCESS_FAMILIES, Presence, SHARED_LABELS};
pub(crate) use progress::{Phase, ReportProgress};
pub use reference::render_with_text_encoder;
pub use render::{CONTENT_TYPE, render, render_at};
pub use state::{
    LastError, Numbers, PROCESS_METRICS_MAX_AGE, PlannedState, PollHealth, ReloadStatus, ReportData, ReportSnapshot,
    ReportState, Store, TenantEntry, TenantHandle, TenantInfo, TenantStatus,
};
pub(crate) use telemetry::TenantTelemetry;

/// Version and revision of this binary, for `entra_authmethods_build_info`.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    pub version: &'static str,
    pub revision: &'static str,
}

impl BuildInfo {
    pub fn current() -> Self {
        BuildInfo { version: crate::VERSION, revision: option_env!("ENTRA_AUTHMETHODS_REVISION").unwrap_or("unknown") }
    }
}
