//! Pure aggregation of report rows into bounded counters: no I/O, no per-user state kept, fed page by
//! page so memory does not grow with the number of users.

pub(crate) mod activity;
pub(crate) mod documented;
pub(crate) mod events;
pub(crate) mod fold;
pub(crate) mod groups;
pub(crate) mod interned;
mod labels;
pub(crate) mod legacy;
pub(crate) mod registration;
pub(crate) mod strength;

pub use registration::{RegistrationAggregator, RegistrationSummary};
