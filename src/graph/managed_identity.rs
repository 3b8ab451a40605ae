//! Azure managed identity (Microsoft Entra, "How to use managed identities for Azure resources on an Azure VM to
//! acquire an access token"
//! (<https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token>); Azure App
//! Service, "Managed identities for App Service and Azure Functions"
//! (<https://learn.microsoft.com/azure/app-service/overview-managed-identity>)): tokens from the host's identity
//! endpoint, either IMDS (`Metadata: true`, api-version 2018-02-01) on VMs, scale sets and AKS nodes, or App Service's
//! local endpoint (`X-IDENTITY-HEADER`, api-version 2019-08-01). Both answer `expires_in` and `expires_on` as strings,
//! old App Service versions even `expires_on` as a date, so the answer is parsed tolerantly; values that are present
//! but unreadable are an error, never a guess.

use std::time::Duration;

use serde::Deserialize;

use super::credentials::IssuedToken;
use super::error::{FailureReason, GraphError};
use crate::config::{GraphSettings, ManagedIdentitySettings, Secret};

const IMDS_API_VERSION: &str = "2018-02-01";
const APP_SERVICE_API_VERSION: &str = "2019-08-01";
/// Managed-identity tokens live up to 24 hours; a longer claimed lifetime is not believed.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Assumed when the answer states no lifetime at all: Graph's 401 renews a token that dies sooner.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// A managed-identity credential with its own HTTP client: IMDS must be reached directly, never
/// through a proxy from `HTTPS_PROXY` (which would see, or refuse, a link-local request).
#[derive(Debug)]
pub(crate) struct ManagedIdentity {
    settings: ManagedIdentitySettings,
    http: reqwest::Client,
    request_timeout: Duration,
}

impl ManagedIdentity {
    pub(crate) fn new(settings: &ManagedIdentitySettings, graph: &GraphSettings) -> Result<Self, GraphError> {
        // Installing twice is harmless; the first provider wins.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("entra-authmethods-exporter/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(graph.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| GraphError::Config(format!("cannot build the managed identity HTTP client: {e}")))?;
        Ok(ManagedIdentity { settings: settings.clone(), http, request_timeout: graph.request_timeout })
    }

    pub(crate) async fn request(&self, now_unix: i64) -> Result<IssuedToken, GraphError> {
        let s = &self.settings;
        let mut url = s.endpoint.clone();
        {
            let mut q = url.query_pairs_mut();
            match s.app_service_header {
                Some(_) => q.append_pair("api-version", APP_SERVICE_API_VERSION),
                None => q.append_pair("api-version", IMDS_API_VERSION),
            };
            q.append_pair("resource", &s.resource);
            if let Some(id) = &s.client_id {
                q.append_pair("client_id", id);
            }
        }
        let request =
            self.http.get(url).timeout(self.request_timeout).header(reqwest::header::ACCEPT, "application/json");
        let request = match &s.app_service_header {
            Some(header) => request.header("X-IDENTITY-HEADER", header.expose()),
            None => request.header("Metadata", "true"),
        };
        let response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        let body = super::client::read_token_body(response).await.map_err(|e| match e {
            super::client::BodyError::Transport(e) => self.transport(e),
            e => self.error(FailureReason::Decode, None, e.to_string()),
        })?;
        if status.is_success() {
            return parse_token(&body, now_unix).map_err(|message| self.error(FailureReason::Decode, None, message));
        }
        let (reason, code, message) = refusal(status.as_u16(), &body);
        Err(self.error(reason, code, message))
    }

    fn error(&self, reason: FailureReason, code: Option<String>, message: String) -> GraphError {
        GraphError::ManagedIdentity { endpoint: self.settings.endpoint.to_string(), reason, code, message }
    }

    fn transport(&self, e: reqwest::Error) -> GraphError {
        let reason = if e.is_timeout() {
            FailureReason::Timeout
        } else if e.is_decode() || e.is_body() {
            FailureReason::Decode
        } else {
            FailureReason::Network
        };
        // The endpoint is named by the error already; the URL would only repeat it with the query.
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        let message = if reason == FailureReason::Network { format!("unreachable: {message}") } else { message };
        self.error(reason, None, message)
    }
}

#[derive(Deserialize)]
struct MiTokenResponse {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    expires_on: Option<serde_json::Value>,
}

/// Reads a successful answer. The lifetime comes from `expires_in` (seconds), else from `expires_on`
/// (unix seconds, or the date string of old App Service versions), capped at 24 hours.
pub(crate) fn parse_token(body: &[u8], now_unix: i64) -> Result<IssuedToken, String> {
    let parsed: MiTokenResponse =
        serde_json::from_slice(body).map_err(|e| format!("the token answer is not the expected JSON: {e}"))?;
    let token = parsed.access_token.filter(|t| !t.is_empty()).ok_or("the token answer has no access_token")?;
    let lifetime = match (&parsed.expires_in, &parsed.expires_on) {
        (Some(v), _) if !v.is_null() => seconds("expires_in", v)?,
        (_, Some(v)) if !v.is_null() => {
            let at = unix_time("expires_on", v)?;
            at.saturating_sub(now_unix).max(0) as f64
        }
        _ => DEFAULT_LIFETIME.as_secs_f64(),
    };
    Ok(IssuedToken {
        access_token: Secret::new(token),
        lifetime: Duration::from_secs_f64(lifetime.min(MAX_LIFETIME.as_secs_f64())),
        refresh_token: None,
    })
}

/// A non-negative number of seconds, as a JSON number or a numeric string.
fn seconds(field: &str, v: &serde_json::Value) -> Result<f64, String> {
    let n = match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.filter(|n| n.is_finite() && *n >= 0.0).ok_or_else(|| format!("{field} = {} is not a number of seconds", shown(v)))
}

/// Unix seconds, as a number, a numeric string, or a date such as `06/20/2019 02:57:58 +00:00`
/// (App Service before api-version 2019-08-01) or RFC 3339.
fn unix_time(field: &str, v: &serde_json::Value) -> Result<i64, String> {
    if let Ok(n) = seconds(field, v) {
        return Ok(n.min(i64::MAX as f64) as i64);
    }
    let bad = || format!("{field} = {} is neither unix seconds nor a date", shown(v));
    let serde_json::Value::String(s) = v else { return Err(bad()) };
    let s = s.trim();
    let us_format = time::format_description::parse_borrowed::<1>(
        "[month]/[day]/[year] [hour]:[minute]:[second] [offset_hour sign:mandatory]:[offset_minute]",
    )
    .map_err(|_| bad())?;
    time::OffsetDateTime::parse(s, &us_format)
        .or_else(|_| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339))
        .map(|t| t.unix_timestamp())
        .map_err(|_| bad())
}

/// A value for an error message, cut short: the answer is not ours and could be anything.
fn shown(v: &serde_json::Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// Reason, code and message of an error answer.
fn refusal(status: u16, body: &[u8]) -> (FailureReason, Option<String>, String) {
    let (code, description) = error_body(body);
    let reason = match status {
        429 => FailureReason::Throttled,
        // IMDS answers 404 while it updates, 410 while it starts and 5xx when it is unwell
        // (Microsoft Entra, "How to use managed identities for Azure resources on an Azure VM to acquire an access
        // token" (https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token),
        // "Error handling"): transient, retried with backoff.
        404 | 410 | 500..=599 => FailureReason::ServerError,
        // 400 "Identity not found", invalid_resource, bad_request_102, 401 wrong identity header:
        // only a configuration change fixes these.
        _ => FailureReason::Unauthorized,
    };
    let mut message = format!("HTTP {status}");
    if let Some(c) = &code {
        message.push(' ');
        message.push_str(c);
    }
    if let Some(d) = description {
        message.push_str(": ");
        message.push_str(&d);
    }
    if code.as_deref() == Some("bad_request_102") {
        // IMDS did not see `Metadata: true`, which every request carries: something in between
        // dropped it, or the endpoint is not IMDS.
        message.push_str(
            " (the exporter sends `Metadata: true`; a proxy or relay in between dropped it, or managed_identity_endpoint is not IMDS)",
        );
    }
    (reason, code, message)
}

/// `(error, description)` of an error answer: IMDS sends `{"error", "error_description"}`, App
/// Service `{"statusCode", "message"}`, and a starting IMDS may send no JSON at all.
fn error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else { return (None, None) };
    let text = |key: &str| v.get(key).and_then(|x| x.as_str()).map(str::to_string);
    let code = text("error").or_else(|| text("code"));
    let description = text("error_description").or_else(|| text("message")).map(|d| {
        // Only the first line: the rest is trace ids and timestamps.
        let line = d.lines().next().unwrap_or_default().trim();
        match line.char_indices().nth(300) {
            Some((i, _)) => format!("{}…", &line[..i]),
            None => line.to_string(),
        }
    });
    (code, description)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Url;

    const NOW: i64 = 1_700_000_000;

    fn lifetime(body: &str) -> Result<Duration, String> {
        parse_token(body.as_bytes(), NOW).map(|t| t.lifetime)
    }

    #[test]
    fn lifetimes_as_strings_numbers_and_dates() {
        assert_eq!(
            lifetime(r#"{"access_token":"t","expires_in":"3599","expires_on":"1"}"#),
            Ok(Duration::from_secs(3599))
        );
        assert_eq!(lifetime(r#"{"access_token":"t","expires_in":86399.5}"#), Ok(Duration::from_secs_f64(86399.5)));
        let on = format!(r#"{{"access_token":"t","expires_on":"{}"}}"#, NOW + 600);
        assert_eq!(lifetime(&on), Ok(Duration::from_secs(600)));
        let on = format!(r#"{{"access_token":"t","expires_on":{}}}"#, NOW + 60);
        assert_eq!(lifetime(&on), Ok(Duration::from_secs(60)));
        // 2023-11-14T22:13:20Z is NOW; old App Service dates are month/day/year with an offset.
        assert_eq!(
            lifetime(r#"{"access_token":"t","expires_on":"11/14/2023 23:13:20 +00:00"}"#),
            Ok(Duration::from_secs(3600))
        );
        assert_eq!(
            lifetime(r#"{"access_token":"t","expires_on":"2023-11-14T22:23:20Z"}"#),
            Ok(Duration::from_secs(600))
        );
        // Already expired: renewed at every use rather than trusted.
        assert_eq!(lifetime(r#"{"access_token":"t","expires_on":"1000"}"#), Ok(Duration::ZERO));
        // Absurd lifetimes are capped; absent ones assumed short.
        assert_eq!(lifetime(r#"{"access_token":"t","expires_in":"1e300"}"#), Ok(MAX_LIFETIME));
        assert_eq!(lifetime(r#"{"access_token":"t"}"#), Ok(DEFAULT_LIFETIME));
        assert_eq!(
            lifetime(r#"{"access_token":"t","expires_in":null,"expires_on":"1700000100"}"#),
            Ok(Duration::from_secs(100))
        );
    }

    #[test]
    fn garbage_is_a_clear_error_not_a_panic() {
        let err = lifetime(r#"{"access_token":"t","expires_in":"soon"}"#).unwrap_err();
        assert!(err.contains("expires_in") && err.contains("soon"), "{err}");
        assert!(lifetime(r#"{"access_token":"t","expires_in":"-5"}"#).unwrap_err().contains("expires_in"));
        assert!(lifetime(r#"{"access_token":"t","expires_in":"NaN"}"#).is_err());
        assert!(lifetime(r#"{"access_token":"t","expires_in":[1]}"#).is_err());
        let err = lifetime(r#"{"access_token":"t","expires_on":"tomorrow-ish"}"#).unwrap_err();
        assert!(err.contains("expires_on"), "{err}");
        assert!(lifetime(r#"{"access_token":"","expires_in":"1"}"#).unwrap_err().contains("access_token"));
        assert!(lifetime("not json").is_err());
        // Beyond f64's range (and "inf"): an error, not a panic in Duration::from_secs_f64.
        assert!(lifetime(&format!(r#"{{"access_token":"t","expires_in":"{}"}}"#, "9".repeat(500))).is_err());
        assert!(lifetime(r#"{"access_token":"t","expires_in":"inf"}"#).is_err());
    }

    #[test]
    fn error_bodies_of_both_protocols() {
        let imds = br#"{"error":"invalid_request","error_description":"Identity not found"}"#;
        assert_eq!(error_body(imds), (Some("invalid_request".into()), Some("Identity not found".into())));
        let app = br#"{"statusCode":400,"message":"Unable to load the proper Managed Identity.\r\nmore","correlationId":"x"}"#;
        assert_eq!(error_body(app), (None, Some("Unable to load the proper Managed Identity.".into())));
        assert_eq!(error_body(b"upstream unavailable"), (None, None));
    }

    #[test]
    fn refusals_keep_the_code_and_the_first_line() {
        // IMDS without the metadata header (Microsoft Entra, "How to use managed identities for Azure resources on an
        // Azure VM to acquire an access token"
        // (https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token)).
        let (reason, code, message) = refusal(
            400,
            br#"{"error":"bad_request_102","error_description":"Required metadata header not specified"}"#,
        );
        assert_eq!((reason, code.as_deref()), (FailureReason::Unauthorized, Some("bad_request_102")));
        assert!(
            message.starts_with(
                "HTTP 400 bad_request_102: Required metadata header not specified (the exporter sends `Metadata: true`;"
            ),
            "{message}"
        );
        // invalid_resource in Entra's full shape: the trace lines stay out of the message.
        let body = br#"{"error":"invalid_resource","error_description":"AADSTS50001: The application named https://graph.microsoft.us/ was not found in the tenant named t.\r\nTrace ID: x\r\nCorrelation ID: y\r\nTimestamp: 2024-01-01 00:00:00Z","error_codes":[50001],"timestamp":"2024-01-01 00:00:00Z","trace_id":"x","correlation_id":"y","error_uri":"https://login.microsoftonline.com/error?code=50001"}"#;
        let (reason, code, message) = refusal(400, body);
        assert_eq!((reason, code.as_deref()), (FailureReason::Unauthorized, Some("invalid_resource")));
        assert_eq!(
            message,
            "HTTP 400 invalid_resource: AADSTS50001: The application named https://graph.microsoft.us/ was not found in the tenant named t."
        );
        assert_eq!(refusal(410, b"starting").0, FailureReason::ServerError);
        assert_eq!(refusal(429, b"").2, "HTTP 429");
    }

    #[test]
    fn the_identity_header_never_shows_in_debug_output() {
        let settings = ManagedIdentitySettings {
            endpoint: Url::parse("http://127.0.0.1:1/msi/token").unwrap(),
            app_service_header: Some(Secret::new("very-secret-header")),
            client_id: None,
            resource: "https://graph.microsoft.com/".into(),
        };
        let graph = crate::config::from_toml_str(
            "[[tenant]]\nname = \"c\"\ntenant_id = \"t.example\"\nclient_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\nclient_secret = \"s\"\n",
        )
        .unwrap()
        .graph;
        let mi = ManagedIdentity::new(&settings, &graph).unwrap();
        assert!(!format!("{mi:?}").contains("very-secret-header"));
    }
}
