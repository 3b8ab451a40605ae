//! Securing the HTTP endpoints with the Prometheus exporter-toolkit web configuration file
//! (`--web.config.file`): TLS with certificate reload and client certificates, basic auth with
//! bcrypt hashes, a rate limit, and security headers. See docs/web-config.md and docs/security.md.

mod auth;
mod config;
mod serve;
mod tls;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use auth::{OPEN_PATHS, REALM};
pub use config::RateLimit;
pub(crate) use config::TlsSettings;
pub use serve::{ConnectionLimits, serve};

/// A loaded and validated web configuration. Cloning is cheap.
#[derive(Clone)]
pub struct WebConfig {
    path: PathBuf,
    parsed: config::Parsed,
    tls: Option<Arc<rustls::ServerConfig>>,
    /// The serving certificate's notAfter, kept current across rotations (with TLS on).
    tls_not_after: Option<Arc<std::sync::atomic::AtomicI64>>,
    guard: Arc<auth::Guard>,
    warnings: Vec<String>,
}

impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `Parsed`'s Debug lists the user names only, never their hashes.
        f.debug_struct("WebConfig").field("path", &self.path).field("config", &self.parsed).finish()
    }
}

/// The file's text, refused past [`crate::config::MAX_CONFIG_FILE_SIZE`] without reading more of it,
/// and refused when it is not a regular file (see [`crate::file_read`]).
fn read_bounded(path: &Path) -> Result<String, String> {
    use crate::file_read::Problem;
    let limit = crate::config::MAX_CONFIG_FILE_SIZE;
    crate::file_read::read_string_blocking(path, "web config", limit).map_err(|e| match e.problem {
        Problem::Io { message, .. } => format!("cannot read the file: {message}"),
        Problem::TooLarge { .. } => format!("larger than the {} MiB a web configuration file may have", limit >> 20),
        other => other.to_string(),
    })
}

impl WebConfig {
    /// Reads, parses and validates the file, and loads the TLS certificate, key and client CA it
    /// names. The error is one line: `web config FILE: KEY: reason`. What the file asks for that
    /// is left out here (see docs/web-config.md) is logged as a warning and kept in
    /// [`WebConfig::warnings`]. bcrypt hashes are checked for their format only: nothing is
    /// verified before a request asks for it.
    pub fn load(path: impl AsRef<Path>) -> Result<WebConfig, String> {
        let path = path.as_ref();
        let fail = |e: String| format!("web config {}: {e}", path.display());
        let text = read_bounded(path).map_err(fail)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let parsed = config::parse(&text, dir).map_err(fail)?;
        let mut warnings = parsed.warnings.clone();
        let tls = parsed.tls.as_ref().map(|t| tls::server_config(t, &mut warnings)).transpose().map_err(fail)?;
        let (tls, tls_not_after) = tls.map_or((None, None), |(config, not_after)| (Some(config), Some(not_after)));
        let guard = auth::Guard::new(parsed.users.clone(), parsed.headers.clone(), parsed.rate_limit).map_err(fail)?;
        let warnings: Vec<String> =
            warnings.into_iter().map(|w| format!("web config {}: {w}", path.display())).collect();
        for w in &warnings {
            tracing::warn!("{w}");
        }
        Ok(WebConfig { path: path.to_path_buf(), parsed, tls, tls_not_after, guard: Arc::new(guard), warnings })
    }

    /// The serving certificate's notAfter (Unix seconds), current across rotations; `None` without TLS.
    pub(crate) fn tls_certificate_expiry(&self) -> Option<Arc<std::sync::atomic::AtomicI64>> {
        self.tls_not_after.clone()
    }

    /// What the file asks for that is left out or has no effect here, one line each (already
    /// logged by [`WebConfig::load`]).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The rate limit, when the file sets a non-zero `rate_limit.interval`.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.parsed.rate_limit
    }

    /// How many bcrypt verifications basic auth has run so far (requests whose credentials were not
    /// in the cache); 0 right after [`WebConfig::load`].
    pub fn password_verifications(&self) -> u64 {
        self.guard.verifications()
    }

    /// The TLS settings, when the file has `tls_server_config`.
    pub(crate) fn tls(&self) -> Option<&TlsSettings> {
        self.parsed.tls.as_ref()
    }

    /// Number of `basic_auth_users`; 0 means no basic auth.
    pub fn basic_auth_users(&self) -> usize {
        self.parsed.users.len()
    }

    /// One line for `--check-config` and the startup log.
    pub fn summary(&self) -> String {
        let tls = match self.tls() {
            Some(t) => format!("TLS on (client_auth_type {:?}, min_version {:?})", t.client_auth, t.min_version),
            None => "TLS off".to_string(),
        };
        let rate = match self.parsed.rate_limit {
            Some(r) => {
                format!("rate limit burst {}, one more every {}", r.burst, humantime::format_duration(r.interval))
            }
            None => "no rate limit".to_string(),
        };
        // --check-config prints only this line: the warnings go in it too, without the file prefix.
        let prefix = format!("web config {}: ", self.path.display());
        let warnings: String =
            self.warnings.iter().map(|w| format!("; warning: {}", w.strip_prefix(&prefix).unwrap_or(w))).collect();
        format!(
            "web config {} is valid: {tls}, {} basic auth user(s), {} security header(s), {rate}{warnings}",
            self.path.display(),
            self.parsed.users.len(),
            self.parsed.headers.len()
        )
    }
}
