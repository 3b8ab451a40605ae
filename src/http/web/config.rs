//! Parsing and validation of the exporter-toolkit web configuration file (`--web.config.file`).
//! Every error is one line naming the file and the key; none contains a password hash or key material.
//!
//! What is accepted and what it means follows exporter-toolkit
//! (<https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md>); where
//! rustls cannot do what the toolkit (Go's crypto/tls) would, tls.rs says so. docs/web-config.md
//! lists the differences.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde_yaml_ng::Value;

/// The file as written: unknown keys are errors, as with the toolkit's strict YAML parsing.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default)]
    pub(crate) tls_server_config: Option<RawTls>,
    #[serde(default)]
    pub(crate) http_server_config: Option<RawHttp>,
    #[serde(default)]
    pub(crate) basic_auth_users: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub(crate) rate_limit: Option<RawRateLimit>,
}

/// Scalars that may be secrets (`key`) or that the toolkit's YAML parser reads leniently are taken
/// as [`Value`] and converted by hand, so that a type error never quotes them.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub(crate) cert_file: Option<String>,
    pub(crate) key_file: Option<String>,
    pub(crate) cert: Option<Value>,
    pub(crate) key: Option<Value>,
    pub(crate) client_auth_type: Option<String>,
    pub(crate) client_ca_file: Option<String>,
    pub(crate) client_ca: Option<Value>,
    pub(crate) client_allowed_sans: Option<Vec<String>>,
    pub(crate) cipher_suites: Option<Vec<String>>,
    pub(crate) curve_preferences: Option<Vec<String>>,
    pub(crate) prefer_server_cipher_suites: Option<bool>,
    pub(crate) min_version: Option<String>,
    pub(crate) max_version: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    pub(crate) http2: Option<bool>,
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimit {
    pub(crate) interval: Option<Value>,
    pub(crate) burst: Option<i64>,
}

/// How the server treats client certificates; the names and meanings of Go's `tls.ClientAuthType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientAuth {
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
    pub(crate) fn requires_certificate(self) -> bool {
        matches!(self, Self::RequireAnyClientCert | Self::RequireAndVerifyClientCert)
    }

    pub(super) fn verifies(self) -> bool {
        matches!(self, Self::VerifyClientCertIfGiven | Self::RequireAndVerifyClientCert)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TlsVersion {
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

/// A PEM document: a file, re-read when it changes, or text inline in the web config.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Pem {
    File(PathBuf),
    Inline(String),
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pem::File(p) => f.debug_tuple("File").field(p).finish(),
            // Inline text may be the private key: never shown.
            Pem::Inline(_) => f.write_str("Inline"),
        }
    }
}

/// The cipher suites Go's `tls.CipherSuites()` lists (the only names exporter-toolkit accepts) with
/// their IANA numbers; the first three are TLS 1.3 suites, which Go does not let a configuration
/// choose.
pub(super) const GO_CIPHER_SUITES: [(&str, u16); 13] = [
    ("TLS_AES_128_GCM_SHA256", 0x1301),
    ("TLS_AES_256_GCM_SHA384", 0x1302),
    ("TLS_CHACHA20_POLY1305_SHA256", 0x1303),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0xc009),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 0xc00a),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0xc013),
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0xc014),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xc02b),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xc02c),
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xc02f),
    ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xc030),
    ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca8),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca9),
];

/// A cipher suite named in `cipher_suites`: its Go name and IANA number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CipherSuite {
    pub(crate) name: &'static str,
    pub(crate) id: u16,
}

impl CipherSuite {
    pub(super) fn is_tls13(self) -> bool {
        self.id >> 8 == 0x13
    }
}

/// The curves exporter-toolkit names in `curve_preferences` (Go's `tls.CurveID`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    CurveP256,
    CurveP384,
    CurveP521,
    X25519,
}

impl Curve {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "CurveP256" => Self::CurveP256,
            "CurveP384" => Self::CurveP384,
            "CurveP521" => Self::CurveP521,
            "X25519" => Self::X25519,
            _ => return None,
        })
    }
}

/// The validated TLS part; file paths are resolved against the web config file's directory.
#[derive(Clone, Debug)]
pub(crate) struct TlsSettings {
    pub(crate) cert: Pem,
    pub(crate) key: Pem,
    pub(crate) client_auth: ClientAuth,
    /// `None` with a verifying `client_auth` means the system's trust store, as Go does when
    /// `ClientCAs` is nil.
    pub(crate) client_ca: Option<Pem>,
    /// `None`: no SAN check. `Some`: the client certificate must carry one of these SANs.
    pub(crate) client_allowed_sans: Option<Vec<String>>,
    /// `None`: rustls' defaults.
    pub(crate) cipher_suites: Option<Vec<CipherSuite>>,
    /// `None`: rustls' defaults.
    pub(crate) curve_preferences: Option<Vec<Curve>>,
    pub(crate) min_version: TlsVersion,
    pub(crate) max_version: TlsVersion,
}

/// `rate_limit`: a token bucket holding `burst` tokens, one added every `interval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub interval: Duration,
    pub burst: u64,
}

/// The validated file.
#[derive(Clone)]
pub(crate) struct Parsed {
    pub(crate) tls: Option<TlsSettings>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) http2: bool,
    /// user → bcrypt hash.
    pub(crate) users: BTreeMap<String, String>,
    pub(crate) rate_limit: Option<RateLimit>,
    /// Things the file asks for that are left out or have no effect here, one line each.
    pub(crate) warnings: Vec<String>,
}

impl fmt::Debug for Parsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parsed")
            .field("tls", &self.tls)
            .field("headers", &self.headers)
            .field("http2", &self.http2)
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("rate_limit", &self.rate_limit)
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

/// Parses and validates the YAML text; `dir` resolves relative file paths. Errors are `key: reason`.
pub(super) fn parse(text: &str, dir: &Path) -> Result<Parsed, String> {
    // An empty file (or only comments) is a valid, empty configuration.
    let raw: RawFile = if text.trim().is_empty() {
        RawFile::default()
    } else {
        serde_yaml_ng::from_str::<Option<RawFile>>(text).map_err(yaml_error)?.unwrap_or_default()
    };
    let mut warnings = Vec::new();
    let rate_limit = match raw.rate_limit {
        Some(r) => rate_limit(r, &mut warnings)?,
        None => None,
    };
    let tls = match raw.tls_server_config {
        Some(t) => tls_settings(t, dir, &mut warnings)?,
        None => None,
    };
    let mut headers = Vec::new();
    // The toolkit's default; this server answers HTTP/1.1 either way (see tls.rs).
    let mut http2 = true;
    if let Some(h) = raw.http_server_config {
        http2 = h.http2.unwrap_or(true);
        for (name, value) in h.headers {
            headers.push(header(&name, &value)?);
        }
    }
    // Go's HTTP/2 server refuses a TLS 1.2 suite list without its mandatory suite, so the toolkit
    // would not start with this file unless http2 is false; this server speaks HTTP/1.1 only and
    // serves it, but a file meant for both should know.
    if let Some(t) = &tls
        && let Some(suites) = &t.cipher_suites
        && http2
        && t.min_version < TlsVersion::Tls13
        && !suites.iter().any(|c| c.id == 0xc02f || c.id == 0xc02b)
    {
        warnings.push(
            "tls_server_config.cipher_suites: lacks TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 and TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, which Go's HTTP/2 requires (exporter-toolkit refuses this file unless http2 is false); accepted here, this server speaks HTTP/1.1 only".to_string(),
        );
    }
    let users = raw.basic_auth_users.unwrap_or_default();
    for (user, hash) in &users {
        if user.is_empty() || user.contains(':') || user.chars().any(char::is_control) {
            return Err(format!(
                "basic_auth_users: user name {user:?} is invalid (must be non-empty, without ':' or control characters)"
            ));
        }
        // The format only, as the toolkit does (bcrypt.Cost): verifying waits for a request, so a
        // high cost does not delay the start.
        let cost = hash.parse::<bcrypt::HashParts>().map(|p| p.get_cost());
        match cost {
            Ok(cost) if (4..=31).contains(&cost) => {}
            Ok(_) => return Err(format!("basic_auth_users.{user}: the bcrypt cost is outside 4..31")),
            Err(_) => {
                return Err(format!(
                    "basic_auth_users.{user}: the value is not a bcrypt hash (htpasswd -nBC 10 \"\" | tr -d ':\\n')"
                ));
            }
        }
    }
    Ok(Parsed { tls, headers, http2, users, rate_limit, warnings })
}

/// The toolkit builds `rate.NewLimiter(rate.Every(interval), burst)` when `interval` is not 0;
/// `interval` is a Go duration, and a bare integer is nanoseconds (Go's YAML reads it so).
fn rate_limit(r: RawRateLimit, warnings: &mut Vec<String>) -> Result<Option<RateLimit>, String> {
    let interval = match r.interval {
        None | Some(Value::Null) => Duration::ZERO,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(ns) if ns >= 0 => {
                if ns > 0 {
                    warnings.push(format!(
                        "rate_limit.interval: {ns} without a unit is {ns} nanoseconds (as in exporter-toolkit); write e.g. \"{ns}s\" for seconds"
                    ));
                }
                Duration::from_nanos(ns as u64)
            }
            _ => return Err("rate_limit.interval: must be a duration of 0 or more (e.g. \"1s\")".to_string()),
        },
        Some(Value::String(s)) => go_duration(&s).ok_or_else(|| {
            format!("rate_limit.interval: {s:?} is not a duration of 0 or more (Go syntax, e.g. \"1s\", \"500ms\", \"1m30s\")")
        })?,
        Some(_) => return Err("rate_limit.interval: must be a duration (e.g. \"1s\")".to_string()),
    };
    let burst = r.burst.unwrap_or(0);
    if burst < 0 {
        return Err("rate_limit.burst: must be 0 or more".to_string());
    }
    if interval.is_zero() {
        return Ok(None);
    }
    if burst == 0 {
        warnings.push(
            "rate_limit.burst: 0 with a non-zero interval answers every request 429 (as in exporter-toolkit), /healthz excepted".to_string(),
        );
    }
    Ok(Some(RateLimit { interval, burst: burst as u64 }))
}

/// Go's `time.ParseDuration`, for non-negative values: `0`, or decimal numbers with units
/// (ns, us, µs, ms, s, m, h), e.g. `1.5s`, `1m30s`.
pub(super) fn go_duration(s: &str) -> Option<Duration> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() {
        return None;
    }
    let mut rest = s;
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_len);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        let value: f64 = num.parse().ok()?;
        let unit_len = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let nanos = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * nanos;
        rest = tail;
    }
    // Go's limit: the largest int64 number of nanoseconds.
    if total > i64::MAX as f64 {
        return None;
    }
    Some(Duration::from_nanos(total.round() as u64))
}

/// A PEM text given inline: a string. A type error names the key only (the value may be a key).
fn inline(value: Option<Value>, key: &str) -> Result<Option<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("tls_server_config.{key}: must be a PEM text (a string)")),
    }
}

fn tls_settings(t: RawTls, dir: &Path, warnings: &mut Vec<String>) -> Result<Option<TlsSettings>, String> {
    let key = "tls_server_config";
    let resolve = |p: &str| if Path::new(p).is_absolute() { PathBuf::from(p) } else { dir.join(p) };
    let file = |f: &Option<String>| f.as_deref().filter(|s| !s.is_empty()).map(resolve);
    let (cert_file, key_file, ca_file) = (file(&t.cert_file), file(&t.key_file), file(&t.client_ca_file));
    let (cert, key_pem, ca) = (inline(t.cert, "cert")?, inline(t.key, "key")?, inline(t.client_ca, "client_ca")?);
    // The toolkit reads a file when both are given (docs: "cert_file should not be specified" with
    // an inline cert); say that the inline one is unused.
    for (inline_key, both) in [
        ("cert", cert_file.is_some() && cert.is_some()),
        ("key", key_file.is_some() && key_pem.is_some()),
        ("client_ca", ca_file.is_some() && ca.is_some()),
    ] {
        if both {
            warnings.push(format!("{key}.{inline_key}: ignored, {inline_key}_file is used (as in exporter-toolkit)"));
        }
    }
    let cert = match (cert_file, cert) {
        (Some(f), _) => Pem::File(f),
        (None, Some(c)) => Pem::Inline(c),
        (None, None) => {
            return Err(format!("{key}.cert_file: required (or an inline cert) when tls_server_config is set"));
        }
    };
    let key_pem = match (key_file, key_pem) {
        (Some(f), _) => Pem::File(f),
        (None, Some(k)) => Pem::Inline(k),
        (None, None) => {
            return Err(format!("{key}.key_file: required (or an inline key) when tls_server_config is set"));
        }
    };
    let client_auth = match t.client_auth_type.as_deref() {
        None | Some("") => ClientAuth::NoClientCert,
        Some(s) => ClientAuth::parse(s).ok_or_else(|| {
            format!(
                "{key}.client_auth_type: unknown value {s:?} (expected NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
            )
        })?,
    };
    let client_ca = match (ca_file, ca) {
        (Some(f), _) => Some(Pem::File(f)),
        (None, Some(c)) => Some(Pem::Inline(c)),
        (None, None) => None,
    };
    if client_ca.is_some() && client_auth == ClientAuth::NoClientCert {
        let which = if matches!(client_ca, Some(Pem::Inline(_))) { "client_ca" } else { "client_ca_file" };
        return Err(format!(
            "{key}.{which}: set without a client_auth_type that asks for a certificate (e.g. RequireAndVerifyClientCert)"
        ));
    }
    if client_ca.is_none() && client_auth.verifies() {
        warnings.push(format!(
            "{key}.client_ca_file: not set, so client certificates are verified against the system's trust store, as Go does (any CA it trusts can issue one)"
        ));
    }
    let client_allowed_sans = t.client_allowed_sans;
    if let Some(sans) = &client_allowed_sans {
        if client_auth == ClientAuth::NoClientCert {
            warnings.push(format!(
                "{key}.client_allowed_sans: no effect with client_auth_type NoClientCert, which asks for no certificate (as in exporter-toolkit)"
            ));
        } else if sans.is_empty() {
            warnings.push(format!("{key}.client_allowed_sans: empty, so every client certificate is refused"));
        }
    }
    let cipher_suites = match t.cipher_suites {
        None => None,
        Some(names) if names.is_empty() => None,
        Some(names) => Some(
            names
                .iter()
                .map(|n| {
                    GO_CIPHER_SUITES
                        .iter()
                        .find(|(name, _)| name == n)
                        .map(|&(name, id)| CipherSuite { name, id })
                        .ok_or_else(|| {
                            format!(
                                "{key}.cipher_suites: unknown cipher suite {n:?} (expected a name from Go's tls.CipherSuites(), e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)"
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let curve_preferences = match t.curve_preferences {
        None => None,
        Some(names) if names.is_empty() => None,
        Some(names) => Some(
            names
                .iter()
                .map(|n| {
                    Curve::parse(n).ok_or_else(|| {
                        format!("{key}.curve_preferences: unknown curve {n:?} (expected CurveP256, CurveP384, CurveP521 or X25519)")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    // Go ignores PreferServerCipherSuites since 1.18; accepted for the toolkit's files, no effect.
    let _ = t.prefer_server_cipher_suites;
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
    Ok(Some(TlsSettings {
        cert,
        key: key_pem,
        client_auth,
        client_ca,
        client_allowed_sans,
        cipher_suites,
        curve_preferences,
        min_version,
        max_version,
    }))
}

fn header(name: &str, value: &Value) -> Result<(HeaderName, HeaderValue), String> {
    let key = format!("http_server_config.headers.{name}");
    // Go's YAML reads any scalar into a string: `X-XSS-Protection: 1` is the toolkit's own example.
    let value = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return Err(format!("{key}: the value must be a string")),
    };
    let value = value.as_str();
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
        assert_eq!(tls.cert, Pem::File(PathBuf::from("/etc/x/tls.crt")));
        assert_eq!(tls.key, Pem::File(PathBuf::from("/k/tls.key")));
        assert_eq!(tls.min_version, TlsVersion::Tls12);
    }

    #[test]
    fn inline_key_is_never_shown() {
        let p = parse("tls_server_config:\n  cert: CERT-TEXT\n  key: SECRET-KEY-TEXT\n", Path::new("/")).unwrap();
        let tls = p.tls.unwrap();
        assert_eq!(tls.key, Pem::Inline("SECRET-KEY-TEXT".to_string()));
        assert!(!format!("{tls:?}").contains("SECRET-KEY-TEXT"));
        // A key of the wrong type is refused without quoting it.
        let e = err("tls_server_config:\n  cert_file: a\n  key: [SECRET-KEY-TEXT]\n");
        assert!(e.contains("tls_server_config.key") && !e.contains("SECRET"), "{e}");
    }

    #[test]
    fn go_durations() {
        let d = |s: &str| go_duration(s);
        assert_eq!(d("0"), Some(Duration::ZERO));
        assert_eq!(d("1s"), Some(Duration::from_secs(1)));
        assert_eq!(d("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(d("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(d("300ms"), Some(Duration::from_millis(300)));
        assert_eq!(d("2us"), Some(Duration::from_micros(2)));
        assert_eq!(d("2µs"), Some(Duration::from_micros(2)));
        assert_eq!(d("7ns"), Some(Duration::from_nanos(7)));
        for bad in ["", "1", "s", "1x", "-1s", "1..2s", ".s", "1 s"] {
            assert_eq!(d(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rate_limit_follows_the_toolkit() {
        let rl = |text: &str| parse(text, Path::new("/")).map(|p| (p.rate_limit, p.warnings.len()));
        assert_eq!(
            rl("rate_limit:\n  interval: 1s\n  burst: 20\n").unwrap(),
            (Some(RateLimit { interval: Duration::from_secs(1), burst: 20 }), 0)
        );
        // interval 0 (or absent) turns it off.
        assert_eq!(rl("rate_limit:\n  interval: 0\n  burst: 0\n").unwrap(), (None, 0));
        assert_eq!(rl("rate_limit:\n  burst: 5\n").unwrap(), (None, 0));
        // A bare number is nanoseconds, as Go's YAML reads a time.Duration; said in a warning.
        assert_eq!(
            rl("rate_limit:\n  interval: 60\n  burst: 1\n").unwrap(),
            (Some(RateLimit { interval: Duration::from_nanos(60), burst: 1 }), 1)
        );
        // burst 0 refuses everything there too; said in a warning.
        assert_eq!(rl("rate_limit:\n  interval: 1s\n").unwrap().1, 1);
        assert!(err("rate_limit:\n  interval: soon\n").contains("rate_limit.interval"));
        assert!(err("rate_limit:\n  interval: 1s\n  burst: -1\n").contains("rate_limit.burst"));
        assert!(err("rate_limit:\n  period: 1s\n").contains("period"));
    }

    #[test]
    fn cipher_suites_and_curves_take_go_names() {
        let t = parse(
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n  curve_preferences: [X25519, CurveP521]\n",
            Path::new("/"),
        )
        .unwrap()
        .tls
        .unwrap();
        let suites = t.cipher_suites.unwrap();
        assert_eq!(suites[0], CipherSuite { name: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", id: 0xc02f });
        assert!(suites[1].is_tls13() && !suites[0].is_tls13());
        assert_eq!(t.curve_preferences.unwrap(), vec![Curve::X25519, Curve::CurveP521]);
        // Go's insecure suites are unknown names to the toolkit.
        let e = err(
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_RSA_WITH_AES_128_GCM_SHA256]\n",
        );
        assert!(e.contains("tls_server_config.cipher_suites") && e.contains("TLS_RSA_WITH_AES_128_GCM_SHA256"), "{e}");
        let e = err("tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [P256]\n");
        assert!(e.contains("tls_server_config.curve_preferences") && e.contains("P256"), "{e}");
    }

    #[test]
    fn what_has_no_effect_is_said_in_a_warning() {
        let warnings = |text: &str| parse(text, Path::new("/")).unwrap().warnings;
        let tls = "tls_server_config:\n  cert_file: a\n  key_file: b\n";
        let w = warnings(&format!("{tls}  client_allowed_sans: [x]\n"));
        assert!(w.len() == 1 && w[0].contains("client_allowed_sans") && w[0].contains("NoClientCert"), "{w:?}");
        let w = warnings(&format!("{tls}  client_auth_type: RequestClientCert\n  client_allowed_sans: []\n"));
        assert!(w.len() == 1 && w[0].contains("every client certificate is refused"), "{w:?}");
        let w = warnings(&format!("{tls}  cert: inline\n  key: inline-secret\n"));
        assert!(w.len() == 2 && w.iter().all(|w| w.contains("ignored") && !w.contains("inline-secret")), "{w:?}");
        let w = warnings(&format!("{tls}  client_auth_type: RequireAndVerifyClientCert\n"));
        assert!(w.len() == 1 && w[0].contains("system's trust store"), "{w:?}");
        let w = warnings(&format!("{tls}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]\n"));
        assert!(w.len() == 1 && w[0].contains("HTTP/2"), "{w:?}");
        let w = warnings(&format!(
            "{tls}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]\nhttp_server_config:\n  http2: false\n"
        ));
        assert!(w.is_empty(), "{w:?}");
        assert!(warnings(&format!("{tls}  prefer_server_cipher_suites: false\n")).is_empty());
    }

    #[test]
    fn header_values_may_be_yaml_scalars() {
        let p = parse("http_server_config:\n  headers:\n    X-XSS-Protection: 1\n", Path::new("/")).unwrap();
        assert_eq!(p.headers[0].1, "1");
    }
}
