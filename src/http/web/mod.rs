//! Securing the HTTP endpoints with the Prometheus exporter-toolkit web configuration file
//! (`--web.config.file`): TLS with certificate reload and client certificates, basic auth with
//! bcrypt hashes, and security headers. See docs/security.md.

mod auth;
mod config;
mod serve;
mod tls;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use auth::{OPEN_PATHS, REALM};
pub use config::{ClientAuth, TlsSettings, TlsVersion};
pub use serve::{ConnectionLimits, serve};

/// A loaded and validated web configuration. Cloning is cheap.
#[derive(Clone)]
pub struct WebConfig {
    path: PathBuf,
    parsed: config::Parsed,
    tls: Option<Arc<rustls::ServerConfig>>,
    guard: Arc<auth::Guard>,
}

impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `Parsed`'s Debug lists the user names only, never their hashes.
        f.debug_struct("WebConfig").field("path", &self.path).field("config", &self.parsed).finish()
    }
}

impl WebConfig {
    /// Reads, parses and validates the file, and loads the TLS certificate, key and client CA it
    /// names. The error is one line: `web config FILE: KEY: reason`.
    pub fn load(path: impl AsRef<Path>) -> Result<WebConfig, String> {
        let path = path.as_ref();
        let fail = |e: String| format!("web config {}: {e}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read the file: {e}")))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let parsed = config::parse(&text, dir).map_err(fail)?;
        let tls = parsed.tls.as_ref().map(tls::server_config).transpose().map_err(fail)?;
        let guard = auth::Guard::new(parsed.users.clone(), parsed.headers.clone()).map_err(fail)?;
        Ok(WebConfig { path: path.to_path_buf(), parsed, tls, guard: Arc::new(guard) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The TLS settings, when the file has `tls_server_config`.
    pub fn tls(&self) -> Option<&TlsSettings> {
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
        format!(
            "web config {} is valid: {tls}, {} basic auth user(s), {} security header(s)",
            self.path.display(),
            self.parsed.users.len(),
            self.parsed.headers.len()
        )
    }
}
