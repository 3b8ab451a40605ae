//! Pure aggregation of report rows into bounded counters: no I/O, no per-user state kept, fed page by
//! page so memory does not grow with the number of users.

pub mod activity;
pub mod events;
mod labels;
pub mod legacy;
pub mod registration;

pub use registration::{RegistrationAggregator, RegistrationSummary};
