//! `login`: the OAuth 2.0 device-code flow (RFC 8628) for a tenant's delegated reports. A person signs
//! in once in a browser; the refresh token is stored in `refresh_token_file` (mode 0600) and the
//! daemon renews it from then on.

use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use crate::config::{Secret, TenantSettings};
use crate::graph::{BodyError, GraphError, delegated_scope, post_form, read_token_body, token_file, token_url};

/// What the person has to do, as the identity platform phrased it.
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceCode {
    #[serde(skip_serializing)]
    device_code: String,
    pub user_code: String,
    pub(crate) verification_uri: String,
    pub(crate) expires_in: u64,
    #[serde(default = "default_interval")]
    pub(crate) interval: u64,
    #[serde(default)]
    pub(crate) message: Option<String>,
}

fn default_interval() -> u64 {
    5
}

/// Longest a device code is waited for, whatever the platform claims (Entra's live 15 minutes): a
/// claimed lifetime beyond what an Instant can hold must not panic.
const MAX_CODE_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Longest wait between two token requests, whatever the platform asks (RFC 8628 defaults to 5 s).
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// RFC 8628 3.5: after `slow_down` the interval grows by 5 seconds.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// How long to wait for the sign-in, from the answer's `expires_in`.
fn code_lifetime(expires_in: u64) -> Duration {
    Duration::from_secs(expires_in.max(1)).min(MAX_CODE_LIFETIME)
}

/// The first wait between token requests, from the answer's `interval`.
fn poll_interval(interval: u64) -> Duration {
    Duration::from_secs(interval.max(1)).min(MAX_POLL_INTERVAL)
}

/// The wait after a `slow_down` answer.
fn slowed_down(interval: Duration) -> Duration {
    interval.saturating_add(SLOW_DOWN_STEP).min(MAX_POLL_INTERVAL)
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("tenant {0:?} has no refresh_token_file configured; add refresh_token_file to its [[tenant]] table")]
    NotDelegated(String),
    #[error("the sign-in was declined in the browser")]
    Declined,
    #[error("the code expired before the sign-in completed; run login again")]
    Expired,
    #[error(
        "the identity platform answered without a refresh token: enable \"Allow public client flows\" and the offline_access permission for the app"
    )]
    NoRefreshToken,
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("{0}")]
    Io(String),
}

/// `{login}/{tenant}/oauth2/v2.0/devicecode`.
fn device_code_url(t: &TenantSettings) -> Result<Url, GraphError> {
    let mut url = token_url(&t.login_endpoint, &t.tenant_id)?;
    url.path_segments_mut()
        .map_err(|_| GraphError::Config("login_endpoint cannot be a base URL".into()))?
        .pop()
        .push("devicecode");
    Ok(url)
}

/// Runs the flow: asks for a code, hands it to `show` (which tells the person), polls the token
/// endpoint at the interval the platform asks for, and stores the refresh token.
pub async fn login(
    http: &reqwest::Client,
    tenant: &TenantSettings,
    show: impl FnOnce(&DeviceCode),
) -> Result<(), LoginError> {
    let delegated = tenant.delegated.as_ref().ok_or_else(|| LoginError::NotDelegated(tenant.name.clone()))?;
    let scope = delegated_scope(tenant);
    let form = [("client_id", delegated.client_id.as_str()), ("scope", scope.as_str())];
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let response = http
        .post(device_code_url(tenant)?)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| GraphError::Network { endpoint: "devicecode".into(), message: e.to_string() })?;
    let status = response.status();
    let bytes = read_token_body(response).await.map_err(|e| match e {
        BodyError::Transport(e) => GraphError::Network { endpoint: "devicecode".into(), message: e.to_string() },
        e @ BodyError::TooLarge(_) => GraphError::Decode { endpoint: "devicecode".into(), message: e.to_string() },
    })?;
    if !status.is_success() {
        #[derive(Deserialize)]
        struct OAuthError {
            error: String,
            #[serde(default)]
            error_description: Option<String>,
        }
        let e: Option<OAuthError> = serde_json::from_slice(&bytes).ok();
        return Err(GraphError::Token {
            status: Some(status.as_u16()),
            error: e.as_ref().map_or("unexpected_response".into(), |e| e.error.clone()),
            description: e.and_then(|e| e.error_description).map(|d| d.lines().next().unwrap_or_default().to_string()),
        }
        .into());
    }
    let code: DeviceCode = serde_json::from_slice(&bytes)
        .map_err(|e| GraphError::Decode { endpoint: "devicecode".into(), message: e.to_string() })?;
    show(&code);

    let token_url = token_url(&tenant.login_endpoint, &tenant.tenant_id)?;
    let deadline = tokio::time::Instant::now() + code_lifetime(code.expires_in);
    let mut interval = poll_interval(code.interval);
    loop {
        // The protocol is polling: the platform tells how often it may be asked.
        tokio::time::sleep(interval).await;
        if tokio::time::Instant::now() >= deadline {
            return Err(LoginError::Expired);
        }
        let form = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", delegated.client_id.as_str()),
            ("device_code", code.device_code.as_str()),
        ];
        match post_form(http, &token_url, &form).await {
            Ok(issued) => {
                let refresh: Secret = issued.refresh_token.ok_or(LoginError::NoRefreshToken)?;
                token_file::write(&delegated.refresh_token_file, &refresh).map_err(LoginError::Io)?;
                return Ok(());
            }
            Err(GraphError::Token { error, .. }) if error == "authorization_pending" => {}
            Err(GraphError::Token { error, .. }) if error == "slow_down" => interval = slowed_down(interval),
            Err(GraphError::Token { error, .. }) if error == "authorization_declined" || error == "access_denied" => {
                return Err(LoginError::Declined);
            }
            Err(GraphError::Token { error, .. }) if error == "expired_token" || error == "code_expired" => {
                return Err(LoginError::Expired);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_s_lifetime_and_interval_are_capped() {
        assert_eq!(code_lifetime(900), Duration::from_secs(900));
        assert_eq!(code_lifetime(0), Duration::from_secs(1));
        assert_eq!(code_lifetime(u64::MAX), MAX_CODE_LIFETIME);
        // The deadline is computed without overflowing.
        let _ = tokio::time::Instant::now() + code_lifetime(u64::MAX);
        assert_eq!(poll_interval(5), Duration::from_secs(5));
        assert_eq!(poll_interval(0), Duration::from_secs(1));
        assert_eq!(poll_interval(u64::MAX), MAX_POLL_INTERVAL);
        assert_eq!(slowed_down(Duration::from_secs(5)), Duration::from_secs(10));
        assert_eq!(slowed_down(MAX_POLL_INTERVAL), MAX_POLL_INTERVAL);
        assert_eq!(slowed_down(Duration::MAX), MAX_POLL_INTERVAL);
    }
}
