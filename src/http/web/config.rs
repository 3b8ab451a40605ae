//! Parsing and validation of the exporter-toolkit web configuration file (`--web.config.file`).
//! Every error is one line naming the file and the key; none contains a password hash or key material.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use axum::http::{HeaderName, HeaderValue};
use serde::Deserialize;

/// The file as written: unknown keys are errors; keys of the toolkit that this exporter does not
/// implement are accepted by the parser and then rejected by name in [`validate`].
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default)]
    pub tls_server_config: Option<RawTls>,
    #[serde(default)]
    pub http_server_config: Option<RawHttp>,
    #[serde(default)]
    pub basic_auth_users: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub rate_limit: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub cert: Option<serde_yaml_ng::Value>,
    pub key: Option<serde_yaml_ng::Value>,
    pub client_auth_type: Option<String>,
    pub client_ca_file: Option<String>,
    pub client_ca: Option<serde_yaml_ng::Value>,
    pub client_allowed_sans: Option<serde_yaml_ng::Value>,
    pub cipher_suites: Option<serde_yaml_ng::Value>,
    pub curve_preferences: Option<serde_yaml_ng::Value>,
    pub prefer_server_cipher_suites: Option<serde_yaml_ng::Value>,
    pub min_version: Option<String>,
    pub max_version: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    pub http2: Option<bool>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// How the server treats client certificates; the names and meanings of Go's `tls.ClientAuthType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "NoClientCert" => Self::NoClientCert,
            "RequestClientCert" => Self::RequestClientCert,
            "RequireAnyClientCert" => Self::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => Self::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => Self::RequireAndVerifyClientCert,
            _ => return None,
        })
    }

    /// A client without a certificate is refused during the handshake.
    pub fn requires_certificate(self) -> bool {
        matches!(self, Self::RequireAnyClientCert | Self::RequireAndVerifyClientCert)
    }

    pub(super) fn verifies(self) -> bool {
        matches!(self, Self::VerifyClientCertIfGiven | Self::RequireAndVerifyClientCert)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

fn parse_version(s: &str) -> Result<TlsVersion, String> {
    match s {
        "TLS12" => Ok(TlsVersion::Tls12),
        "TLS13" => Ok(TlsVersion::Tls13),
        "TLS10" | "TLS11" => Err(format!("{s} is not supported (only TLS12 and TLS13)")),
        _ => Err(format!("unknown TLS version {s:?} (expected TLS12 or TLS13)")),
    }
}

/// The validated TLS part; file paths are resolved against the web config file's directory.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub client_auth: ClientAuth,
    pub client_ca_file: Option<PathBuf>,
    pub min_version: TlsVersion,
    pub max_version: TlsVersion,
}

/// The validated file.
#[derive(Clone)]
pub struct Parsed {
    pub tls: Option<TlsSettings>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub http2: bool,
    /// user → bcrypt hash.
    pub users: BTreeMap<String, String>,
}

impl fmt::Debug for Parsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parsed")
            .field("tls", &self.tls)
            .field("headers", &self.headers)
            .field("http2", &self.http2)
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The security headers the toolkit accepts, with their value rules.
const HEADERS: [&str; 5] = [
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "X-XSS-Protection",
    "Strict-Transport-Security",
];

fn unsupported(key: &str) -> String {
    format!("{key}: not supported by this exporter; remove it")
}

/// Parses and validates the YAML text; `dir` resolves relative file paths. Errors are `key: reason`.
pub(super) fn parse(text: &str, dir: &Path) -> Result<Parsed, String> {
    // An empty file (or only comments) is a valid, empty configuration.
    let raw: RawFile = if text.trim().is_empty() {
        RawFile::default()
    } else {
        serde_yaml_ng::from_str::<Option<RawFile>>(text).map_err(yaml_error)?.unwrap_or_default()
    };
    if raw.rate_limit.is_some() {
        return Err(unsupported("rate_limit"));
    }
    let tls = match raw.tls_server_config {
        Some(t) => tls_settings(t, dir)?,
        None => None,
    };
    let mut headers = Vec::new();
    let mut http2 = false;
    if let Some(h) = raw.http_server_config {
        http2 = h.http2.unwrap_or(false);
        for (name, value) in h.headers {
            headers.push(header(&name, &value)?);
        }
    }
    let users = raw.basic_auth_users.unwrap_or_default();
    for (user, hash) in &users {
        if user.is_empty() || user.contains(':') || user.chars().any(char::is_control) {
            return Err(format!(
                "basic_auth_users: user name {user:?} is invalid (must be non-empty, without ':' or control characters)"
            ));
        }
        if hash.parse::<bcrypt::HashParts>().is_err() {
            return Err(format!(
                "basic_auth_users.{user}: the value is not a bcrypt hash (htpasswd -nBC 10 \"\" | tr -d ':\\n')"
            ));
        }
    }
    Ok(Parsed { tls, headers, http2, users })
}

fn tls_settings(t: RawTls, dir: &Path) -> Result<Option<TlsSettings>, String> {
    let key = "tls_server_config";
    for (field, present) in [
        ("cert", t.cert.is_some()),
        ("key", t.key.is_some()),
        ("client_ca", t.client_ca.is_some()),
        ("client_allowed_sans", t.client_allowed_sans.is_some()),
        ("cipher_suites", t.cipher_suites.is_some()),
        ("curve_preferences", t.curve_preferences.is_some()),
        ("prefer_server_cipher_suites", t.prefer_server_cipher_suites.is_some()),
    ] {
        if present {
            return Err(unsupported(&format!("{key}.{field}")));
        }
    }
    let resolve = |p: &str| if Path::new(p).is_absolute() { PathBuf::from(p) } else { dir.join(p) };
    let (cert_file, key_file) = match (t.cert_file.as_deref(), t.key_file.as_deref()) {
        (Some(c), Some(k)) if !c.is_empty() && !k.is_empty() => (resolve(c), resolve(k)),
        (None | Some(""), _) => return Err(format!("{key}.cert_file: required when tls_server_config is set")),
        _ => return Err(format!("{key}.key_file: required when tls_server_config is set")),
    };
    let client_auth = match t.client_auth_type.as_deref() {
        None | Some("") => ClientAuth::NoClientCert,
        Some(s) => ClientAuth::parse(s).ok_or_else(|| {
            format!(
                "{key}.client_auth_type: unknown value {s:?} (expected NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
            )
        })?,
    };
    let client_ca_file = t.client_ca_file.as_deref().filter(|s| !s.is_empty()).map(resolve);
    if client_ca_file.is_some() && client_auth == ClientAuth::NoClientCert {
        return Err(format!(
            "{key}.client_ca_file: set without a client_auth_type that verifies (VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
        ));
    }
    if client_ca_file.is_none() && client_auth.verifies() {
        return Err(format!("{key}.client_ca_file: required with client_auth_type {client_auth:?}"));
    }
    let min_version = match t.min_version.as_deref() {
        None | Some("") => TlsVersion::Tls12,
        Some(s) => parse_version(s).map_err(|e| format!("{key}.min_version: {e}"))?,
    };
    let max_version = match t.max_version.as_deref() {
        None | Some("") => TlsVersion::Tls13,
        Some(s) => parse_version(s).map_err(|e| format!("{key}.max_version: {e}"))?,
    };
    if max_version < min_version {
        return Err(format!("{key}.max_version: lower than min_version"));
    }
    Ok(Some(TlsSettings { cert_file, key_file, client_auth, client_ca_file, min_version, max_version }))
}

fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), String> {
    let key = format!("http_server_config.headers.{name}");
    let Some(canonical) = HEADERS.iter().find(|h| h.eq_ignore_ascii_case(name)) else {
        return Err(format!("{key}: not an allowed header (allowed: {})", HEADERS.join(", ")));
    };
    let ok = match *canonical {
        "X-Content-Type-Options" => value.eq_ignore_ascii_case("nosniff"),
        "X-Frame-Options" => value.eq_ignore_ascii_case("deny") || value.eq_ignore_ascii_case("sameorigin"),
        _ => !value.is_empty(),
    };
    if !ok {
        let expected = match *canonical {
            "X-Content-Type-Options" => "nosniff",
            "X-Frame-Options" => "deny or sameorigin",
            _ => "a non-empty value",
        };
        return Err(format!("{key}: invalid value (expected {expected})"));
    }
    let value = HeaderValue::from_str(value).map_err(|_| format!("{key}: invalid characters in the value"))?;
    Ok((HeaderName::from_static(static_lower(canonical)), value))
}

fn static_lower(canonical: &str) -> &'static str {
    match canonical {
        "Content-Security-Policy" => "content-security-policy",
        "X-Frame-Options" => "x-frame-options",
        "X-Content-Type-Options" => "x-content-type-options",
        "X-XSS-Protection" => "x-xss-protection",
        _ => "strict-transport-security",
    }
}

/// serde_yaml_ng errors name the key path (`tls_server_config: unknown field ...`); keep them on
/// one line. Type errors quote scalar values, which can only be the file's own non-secret keys
/// here: the secret-bearing values (hashes) are strings and never fail to deserialize as such.
fn yaml_error(e: serde_yaml_ng::Error) -> String {
    let s = e.to_string();
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, Path::new("/etc")).unwrap_err()
    }

    #[test]
    fn empty_file_is_valid() {
        let p = parse("", Path::new("/")).unwrap();
        assert!(p.tls.is_none() && p.users.is_empty() && p.headers.is_empty());
        parse("# nothing\n", Path::new("/")).unwrap();
    }

    #[test]
    fn errors_name_the_key() {
        assert!(err("foo: 1\n").contains("foo"));
        assert!(
            err("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [x]\n")
                .contains("tls_server_config.cipher_suites")
        );
        assert!(err("tls_server_config:\n  key_file: b\n").contains("tls_server_config.cert_file"));
        assert!(
            err("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS10\n").contains("min_version")
        );
        assert!(err("http_server_config:\n  headers:\n    X-Frame-Options: allow\n").contains("X-Frame-Options"));
        assert!(err("basic_auth_users:\n  alice: secret\n").contains("basic_auth_users.alice"));
        assert!(!err("basic_auth_users:\n  alice: secret\n").contains("secret"));
    }

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let p =
            parse("tls_server_config:\n  cert_file: tls.crt\n  key_file: /k/tls.key\n", Path::new("/etc/x")).unwrap();
        let tls = p.tls.unwrap();
        assert_eq!(tls.cert_file, Path::new("/etc/x/tls.crt"));
        assert_eq!(tls.key_file, Path::new("/k/tls.key"));
        assert_eq!(tls.min_version, TlsVersion::Tls12);
    }
}
