//! Structured logs on stderr in the Prometheus ecosystem's formats: logfmt (default) or JSON.

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    Logfmt,
    Json,
}

impl LogLevel {
    fn directive(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// Installs the global subscriber. `RUST_LOG`, when set, overrides `--log.level` for debugging one
/// module. HTTP library internals stay at warn: their debug output can include request details.
pub(crate) fn init(level: LogLevel, format: LogFormat) {
    let default = format!("{},hyper=warn,hyper_util=warn,reqwest=warn,rustls=warn", level.directive());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Logfmt => registry
            .with(tracing_logfmt::builder().with_span_path(false).layer().with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Json => registry
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true).with_writer(std::io::stderr))
            .try_init(),
    };
    // A second init (tests starting several exporters in one process) keeps the first subscriber.
    let _ = result;
}
