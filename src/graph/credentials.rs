//! Access tokens for Graph. One cache per tenant; each credential kind only knows how to ask the
//! token endpoint for a new token. Tokens are renewed before they expire and after Graph rejects one.

use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::assertion::{ClientCertificate, JWT_BEARER, now_unix};
use super::client::{BodyError, read_token_body};
use super::error::{GraphError, TOKEN_ENDPOINT};
use super::managed_identity::ManagedIdentity;
use super::token_file;
use crate::config::{AppCredential, CertificateSettings, GraphSettings, Secret, SecretSource, TenantSettings};
use crate::health::RequestObserver;
use std::path::PathBuf;

/// Renew when this share of a token's lifetime has passed, so a slow poll never starts with a token
/// about to expire and a short outage of the token endpoint is absorbed by the remaining quarter.
const RENEW_AT_FRACTION: f64 = 0.75;

/// A way to obtain tokens from the Microsoft identity platform.
#[derive(Debug)]
pub(crate) enum Credential {
    /// OAuth 2.0 client credentials with a client secret (Microsoft identity platform, "OAuth 2.0 client credentials
    /// flow" (<https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow>)): application
    /// permissions.
    ClientSecret { token_url: Url, client_id: String, secret: SecretSource, scope: String },
    /// The refresh-token grant with the token `login` stored: a signed-in user's delegated
    /// permissions. Each use rotates the token, and the new one replaces the file.
    RefreshToken { token_url: Url, client_id: String, file: PathBuf, scope: String, tenant: String },
    /// Client credentials with a certificate-signed client assertion (Microsoft identity platform, "Certificate
    /// credentials" (<https://learn.microsoft.com/entra/identity-platform/certificate-credentials>)). The PEM files are
    /// read at every token request, so a rotated certificate is used without a restart.
    ClientCertificate {
        token_url: Url,
        client_id: String,
        files: CertificateSettings,
        scope: String,
        tenant: String,
        /// Thumbprint of the certificate last used, to log a rotation once.
        last_thumbprint: std::sync::Mutex<Option<String>>,
    },
    /// Workload identity federation (Microsoft identity platform, "Workload identity federation"
    /// (<https://learn.microsoft.com/entra/workload-id/workload-identity-federation>)): the projected service-account
    /// token, read at every token request because kubelet rotates it, sent as the client assertion.
    WorkloadIdentity { token_url: Url, client_id: String, token_file: PathBuf, scope: String },
    /// An Azure managed identity (the IMDS and App Service pages cited in `managed_identity`): IMDS or App Service's
    /// identity endpoint, no secret of ours.
    ManagedIdentity(ManagedIdentity),
}

impl Credential {
    /// The application credential of a tenant, if it has one.
    pub(crate) fn app(t: &TenantSettings, graph: &GraphSettings) -> Result<Option<Self>, GraphError> {
        let Some(credential) = &t.app_credential else { return Ok(None) };
        Ok(Some(match credential {
            AppCredential::ManagedIdentity(mi) => {
                tracing::info!(
                    tenant = %t.name,
                    protocol = mi.protocol(),
                    endpoint = %mi.endpoint,
                    identity = mi.client_id.as_deref().unwrap_or("system-assigned"),
                    resource = %mi.resource,
                    "using a managed identity"
                );
                Credential::ManagedIdentity(ManagedIdentity::new(mi, graph)?)
            }
            AppCredential::Certificate(files) => Credential::ClientCertificate {
                token_url: token_url(&t.login_endpoint, &t.tenant_id)?,
                client_id: t.client_id.clone(),
                files: files.clone(),
                scope: t.scope(),
                tenant: t.name.clone(),
                last_thumbprint: std::sync::Mutex::new(None),
            },
            AppCredential::WorkloadIdentity(wi) => Credential::WorkloadIdentity {
                token_url: token_url(&t.login_endpoint, &t.tenant_id)?,
                client_id: t.client_id.clone(),
                token_file: wi.token_file.clone(),
                scope: t.scope(),
            },
            AppCredential::Secret(secret) => Credential::ClientSecret {
                token_url: token_url(&t.login_endpoint, &t.tenant_id)?,
                client_id: t.client_id.clone(),
                secret: secret.clone(),
                scope: t.scope(),
            },
        }))
    }

    /// The delegated credential of a tenant, if it has one.
    pub(crate) fn delegated(t: &TenantSettings) -> Result<Option<Self>, GraphError> {
        let Some(d) = &t.delegated else { return Ok(None) };
        Ok(Some(Credential::RefreshToken {
            token_url: token_url(&t.login_endpoint, &t.tenant_id)?,
            client_id: d.client_id.clone(),
            file: d.refresh_token_file.clone(),
            scope: delegated_scope(t),
            tenant: t.name.clone(),
        }))
    }

    /// Identifies the credential material in use, so that a refresh token Entra refused is not sent
    /// again until `login` replaced it.
    async fn fingerprint(&self) -> Option<u64> {
        match self {
            Credential::ClientSecret { .. }
            | Credential::ClientCertificate { .. }
            | Credential::WorkloadIdentity { .. }
            | Credential::ManagedIdentity(_) => None,
            Credential::RefreshToken { file, .. } => {
                let text = token_file::read_bytes(file).await?;
                let mut h = std::hash::DefaultHasher::new();
                std::hash::Hash::hash(&text, &mut h);
                Some(std::hash::Hasher::finish(&h))
            }
        }
    }

    async fn request(&self, http: &reqwest::Client, observer: &dyn RequestObserver) -> Result<IssuedToken, GraphError> {
        match self {
            Credential::ManagedIdentity(mi) => mi.request(now_unix()).await,
            Credential::ClientCertificate { token_url, client_id, files, scope, tenant, last_thumbprint } => {
                let cert = ClientCertificate::load_async(&files.certificate_file, files.key_file.as_deref())
                    .await
                    .map_err(GraphError::Config)?;
                observer.client_certificate_validity(cert.not_before, cert.not_after);
                let now = now_unix();
                let changed = {
                    let mut last = last_thumbprint.lock().unwrap_or_else(|p| p.into_inner());
                    let changed = last.as_deref() != Some(cert.thumbprint_s256.as_str());
                    *last = Some(cert.thumbprint_s256.clone());
                    changed
                };
                if changed {
                    match cert.validity_problem(now) {
                        Some(problem) => tracing::warn!(tenant = %tenant, "{problem}"),
                        None => tracing::info!(
                            tenant = %tenant,
                            file = %files.certificate_file.display(),
                            thumbprint = %cert.thumbprint_s256,
                            not_after = %super::assertion::format_unix(cert.not_after),
                            "using client certificate"
                        ),
                    }
                }
                let assertion = cert.assertion(token_url.as_str(), client_id, now).map_err(GraphError::Config)?;
                let result = assertion_grant(http, token_url, client_id, scope, &assertion).await;
                // When Entra refuses a certificate that is outside its dates, add what the exporter
                // knows: which file, and whether it expired or is not valid yet.
                match (result, cert.validity_problem(now)) {
                    (Err(GraphError::Token { status, error, description }), Some(problem)) => Err(GraphError::Token {
                        status,
                        error,
                        description: Some(match description {
                            Some(d) => format!("{d} ({problem})"),
                            None => problem,
                        }),
                    }),
                    (result, _) => result,
                }
            }
            Credential::WorkloadIdentity { token_url, client_id, token_file, scope } => {
                let label = format!("the federated token file {} (AZURE_FEDERATED_TOKEN_FILE)", token_file.display());
                let text = crate::file_read::read_string(token_file, label, crate::file_read::CREDENTIAL_LIMIT)
                    .await
                    .map_err(|e| GraphError::Config(e.to_string()))?;
                let assertion = Secret::new(text.trim());
                if assertion.expose().is_empty() {
                    return Err(GraphError::Config(format!(
                        "the federated token file {} (AZURE_FEDERATED_TOKEN_FILE) is empty",
                        token_file.display()
                    )));
                }
                assertion_grant(http, token_url, client_id, scope, &assertion).await
            }
            Credential::ClientSecret { token_url, client_id, secret, scope } => {
                let secret = secret.read().await.map_err(GraphError::Config)?;
                let form = [
                    ("client_id", client_id.as_str()),
                    ("scope", scope.as_str()),
                    ("client_secret", secret.expose()),
                    ("grant_type", "client_credentials"),
                ];
                post_form(http, token_url, &form).await
            }
            Credential::RefreshToken { token_url, client_id, file, scope, tenant } => {
                let refresh = token_file::read(file).await.map_err(|message| GraphError::Token {
                    status: None,
                    error: "login_required".into(),
                    description: Some(format!("{message}; run `entra-authmethods-exporter login --tenant {tenant}`")),
                })?;
                let form = [
                    ("client_id", client_id.as_str()),
                    ("scope", scope.as_str()),
                    ("refresh_token", refresh.expose()),
                    ("grant_type", "refresh_token"),
                ];
                let issued = post_form(http, token_url, &form).await?;
                if let Some(rotated) = &issued.refresh_token {
                    // Entra may invalidate the old token once a new one is issued: persist before use.
                    token_file::write(file, rotated).map_err(GraphError::Config)?;
                }
                Ok(issued)
            }
        }
    }
}

/// Delegated tokens carry the user's consented Graph permissions (`.default`) and a refresh token
/// (`offline_access`).
pub(crate) fn delegated_scope(t: &TenantSettings) -> String {
    format!("{}/.default offline_access", t.cloud.graph_endpoint())
}

/// The client-credentials grant with a signed client assertion (certificate or federated token).
async fn assertion_grant(
    http: &reqwest::Client,
    token_url: &Url,
    client_id: &str,
    scope: &str,
    assertion: &Secret,
) -> Result<IssuedToken, GraphError> {
    let form = [
        ("client_id", client_id),
        ("scope", scope),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.expose()),
        ("grant_type", "client_credentials"),
    ];
    post_form(http, token_url, &form).await
}

/// POSTs a form to the token endpoint and reads the answer.
pub(crate) async fn post_form(
    http: &reqwest::Client,
    url: &Url,
    form: &[(&str, &str)],
) -> Result<IssuedToken, GraphError> {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let response = http
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| transport_error(TOKEN_ENDPOINT, e))?;
    read_token_response(response).await
}

/// `{login}/{tenant}/oauth2/v2.0/token`, keeping any path prefix of the login endpoint.
pub(crate) fn token_url(login: &Url, tenant_id: &str) -> Result<Url, GraphError> {
    let mut url = login.clone();
    url.path_segments_mut()
        .map_err(|_| GraphError::Config("login_endpoint cannot be a base URL".into()))?
        .pop_if_empty()
        .extend([tenant_id, "oauth2", "v2.0", "token"]);
    Ok(url)
}

pub(crate) fn transport_error(endpoint: &str, e: reqwest::Error) -> GraphError {
    // reqwest's Display may include the URL; ours carry no secrets (the secret goes in the body).
    let message = error_chain(&e);
    if e.is_timeout() {
        GraphError::Timeout { endpoint: endpoint.to_string(), message }
    } else if e.is_decode() || e.is_body() {
        GraphError::Decode { endpoint: endpoint.to_string(), message }
    } else {
        GraphError::Network { endpoint: endpoint.to_string(), message }
    }
}

/// reqwest's top-level message is generic ("error sending request"); the cause says what happened.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[derive(Debug)]
pub(crate) struct IssuedToken {
    pub(crate) access_token: Secret,
    pub(crate) lifetime: Duration,
    pub(crate) refresh_token: Option<Secret>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    /// A number from the v2 token endpoint, a string from managed-identity endpoints.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct TokenErrorResponse {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

pub(crate) async fn read_token_response(response: reqwest::Response) -> Result<IssuedToken, GraphError> {
    let status = response.status();
    let body = read_token_body(response).await.map_err(|e| match e {
        BodyError::Transport(e) => transport_error(TOKEN_ENDPOINT, e),
        e @ BodyError::TooLarge(_) => GraphError::Decode { endpoint: TOKEN_ENDPOINT.into(), message: e.to_string() },
    })?;
    if status.is_success() {
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| GraphError::Decode { endpoint: TOKEN_ENDPOINT.into(), message: e.to_string() })?;
        let seconds = match parsed.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        // 0 means already expired: renew at every use rather than trust it for an hour.
        .filter(|s| s.is_finite() && *s >= 0.0)
        // A day at most: Duration::from_secs_f64 panics on absurd values, and no Entra token lives longer.
        .map(|s| s.min(86_400.0))
        // Entra tokens live 60–90 minutes; assume the short end if the answer does not say.
        .unwrap_or(3600.0);
        if parsed.access_token.is_empty() {
            return Err(GraphError::Decode { endpoint: TOKEN_ENDPOINT.into(), message: "empty access_token".into() });
        }
        return Ok(IssuedToken {
            access_token: Secret::new(parsed.access_token),
            lifetime: Duration::from_secs_f64(seconds),
            refresh_token: parsed.refresh_token.filter(|t| !t.is_empty()).map(Secret::new),
        });
    }
    match serde_json::from_slice::<TokenErrorResponse>(&body) {
        Ok(err) => Err(GraphError::Token {
            status: Some(status.as_u16()),
            error: err.error,
            // Only the first line: the rest is trace and correlation ids and a timestamp.
            description: err.error_description.map(|d| d.lines().next().unwrap_or_default().trim().to_string()),
        }),
        Err(_) => Err(GraphError::Token {
            status: Some(status.as_u16()),
            error: "unexpected_response".into(),
            description: Some(format!("{} bytes that are not an OAuth error", body.len())),
        }),
    }
}

#[derive(Debug)]
struct Cached {
    token: Secret,
    renew_at: Instant,
    expires_at: Instant,
}

/// Caches one token and renews it; at most one renewal runs at a time.
#[derive(Debug)]
pub(crate) struct TokenCache {
    credential: Credential,
    cached: Mutex<Option<Cached>>,
    /// Fingerprint of refresh-token material Entra refused (revoked, expired): not sent again, and
    /// not logged again, until `login` writes a new token. Prevents a retry storm against Entra.
    refused: std::sync::Mutex<Option<(u64, GraphError)>>,
    /// Set while renewals fail and the current token is used instead: every request of every report
    /// retries the renewal, so only the first failure of a streak is a warning.
    renewal_failing: std::sync::atomic::AtomicBool,
}

impl TokenCache {
    pub(crate) fn new(credential: Credential) -> Self {
        TokenCache {
            credential,
            cached: Mutex::new(None),
            refused: std::sync::Mutex::new(None),
            renewal_failing: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A valid token: the cached one until it is due for renewal, else a new one. When renewal fails
    /// but the old token has not expired yet, the old one is used, so a token-endpoint blip does not
    /// fail a poll.
    pub(crate) async fn token(
        &self,
        http: &reqwest::Client,
        observer: &dyn RequestObserver,
    ) -> Result<Secret, GraphError> {
        let mut cached = self.cached.lock().await;
        let now = Instant::now();
        if let Some(c) = cached.as_ref().filter(|c| now < c.renew_at) {
            return Ok(c.token.clone());
        }
        let fingerprint = self.credential.fingerprint().await;
        let refused = self.refused.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let (Some(fp), Some((refused_fp, error))) = (fingerprint, refused)
            && fp == refused_fp
        {
            return Err(error);
        }
        match self.credential.request(http, observer).await {
            Ok(issued) => {
                observer.token_request(true);
                self.renewal_failing.store(false, std::sync::atomic::Ordering::Relaxed);
                let now = Instant::now();
                let renew_in = issued.lifetime.mul_f64(RENEW_AT_FRACTION);
                let token = issued.access_token.clone();
                *cached = Some(Cached {
                    token: issued.access_token,
                    renew_at: now + renew_in,
                    expires_at: now + issued.lifetime,
                });
                Ok(token)
            }
            Err(e) => {
                observer.token_request(false);
                // A configuration error here comes from the credential's files, which every report
                // using this credential shares.
                let e = match e {
                    GraphError::Config(message) => GraphError::Credential(message),
                    e => e,
                };
                if let (Some(fp), GraphError::Token { error, .. }) = (fingerprint, &e)
                    && error == "invalid_grant"
                {
                    tracing::error!(
                        error = %e,
                        "the signed-in user's refresh token was refused; delegated reports stop until you run `entra-authmethods-exporter login` again"
                    );
                    *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = Some((fp, e.clone()));
                }
                match cached.as_ref().filter(|c| Instant::now() < c.expires_at) {
                    Some(c) => {
                        if self.renewal_failing.swap(true, std::sync::atomic::Ordering::Relaxed) {
                            tracing::debug!(error = %e, "token renewal failed again; using the current token");
                        } else {
                            tracing::warn!(error = %e, "token renewal failed; using the current token until it expires");
                        }
                        Ok(c.token.clone())
                    }
                    None => Err(e),
                }
            }
        }
    }

    /// Forgets the cached token after Graph rejected it (revoked, or a clock skew made it expire early).
    pub(crate) async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_url_appends_to_the_login_endpoint() {
        let base = Url::parse("https://login.microsoftonline.com").unwrap();
        assert_eq!(
            token_url(&base, "contoso.onmicrosoft.com").unwrap().as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        let prefixed = Url::parse("http://127.0.0.1:8080/login/").unwrap();
        assert_eq!(token_url(&prefixed, "t").unwrap().as_str(), "http://127.0.0.1:8080/login/t/oauth2/v2.0/token");
    }
}
