//! entra-authmethods-exporter: Microsoft Entra ID authentication-methods reports as Prometheus metrics.
//!
//! Data flows one way (docs/architecture.md, which also lists what no layer may import):
//! config → graph (credentials, client) → reports (payloads) → aggregation → snapshot → exposition → http,
//! with the poller driving each tenant × report. The simulator is a sibling that serves Graph from a
//! synthetic population; it shares no code with the client, so tests connect the two over real HTTP.

pub mod aggregation;
pub mod allocator;
pub mod app;
pub mod atomic_file;
pub mod catalog;
pub mod cli;
pub mod config;
#[cfg(feature = "simulator")]
pub mod demo;
pub mod file_read;
pub mod graph;
pub mod health;
pub mod healthcheck;
pub mod http;
pub mod logging;
pub mod login;
pub mod persistence;
pub mod poller;
pub mod preflight;
pub mod reports;
pub mod sharding;
pub mod snapshot;

/// Version reported by `--version` and `entra_authmethods_build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
