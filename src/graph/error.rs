//! One error type for everything that can go wrong talking to Graph or its token endpoint, and the
//! fixed set of failure reasons the poll-health metrics use.

use std::fmt;

/// Why a poll failed. The label values of `entra_authmethods_poll_failures_total{reason}` form this
/// fixed set so that alerts and dashboards can rely on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureReason {
    Throttled,
    Unauthorized,
    Forbidden,
    NotFound,
    ServerError,
    Timeout,
    Decode,
    Network,
    Config,
    /// A bug in the exporter: the poll panicked. Recorded like any failure, so the poller goes on.
    Internal,
}

impl FailureReason {
    pub const ALL: [FailureReason; 10] = [
        FailureReason::Throttled,
        FailureReason::Unauthorized,
        FailureReason::Forbidden,
        FailureReason::NotFound,
        FailureReason::ServerError,
        FailureReason::Timeout,
        FailureReason::Decode,
        FailureReason::Network,
        FailureReason::Config,
        FailureReason::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Throttled => "throttled",
            FailureReason::Unauthorized => "unauthorized",
            FailureReason::Forbidden => "forbidden",
            FailureReason::NotFound => "not_found",
            FailureReason::ServerError => "server_error",
            FailureReason::Timeout => "timeout",
            FailureReason::Decode => "decode",
            FailureReason::Network => "network",
            FailureReason::Config => "config",
            FailureReason::Internal => "internal",
        }
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed Graph or token call. Messages carry Graph's `error.code`, `error.message` and `request-id`
/// (what Microsoft support asks for) and never a secret or a token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GraphError {
    #[error("{endpoint}: HTTP {status}{}{}{}", code_part(.code), message_part(.message), request_id_part(.request_id))]
    Http { endpoint: String, status: u16, code: Option<String>, message: Option<String>, request_id: Option<String> },

    #[error("token request: {}{}{}", status_part(*.status), .error, aadsts_part(.description))]
    Token { status: Option<u16>, error: String, description: Option<String> },

    #[error("{endpoint}: {message}")]
    Network { endpoint: String, message: String },

    #[error("{endpoint}: timed out: {message}")]
    Timeout { endpoint: String, message: String },

    #[error("{endpoint}: cannot decode the answer: {message}")]
    Decode { endpoint: String, message: String },

    /// Paging that would never end or would leave Graph: a repeated nextLink, the page cap, a foreign host.
    #[error("{endpoint}: paging stopped: {message}")]
    Paging { endpoint: String, message: String },

    #[error("{0}")]
    Config(String),

    /// The managed-identity endpoint (IMDS or App Service) failed or refused; `reason` is decided
    /// where the answer is read, because its statuses mean other things than Graph's or Entra's.
    #[error("managed identity endpoint {endpoint}: {message}")]
    ManagedIdentity { endpoint: String, reason: FailureReason, code: Option<String>, message: String },

    #[error("poll did not finish within the poll_timeout of {0}")]
    PollDeadline(String),

    /// The poll panicked (a bug); the message is the panic's.
    #[error("internal error: the poll panicked: {0}")]
    Internal(String),
}

fn code_part(code: &Option<String>) -> String {
    code.as_deref().map(|c| format!(" {c}")).unwrap_or_default()
}
fn message_part(m: &Option<String>) -> String {
    m.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
}
fn request_id_part(r: &Option<String>) -> String {
    r.as_deref().map(|r| format!(" (request-id {r})")).unwrap_or_default()
}
fn status_part(s: Option<u16>) -> String {
    s.map(|s| format!("HTTP {s} ")).unwrap_or_default()
}
fn aadsts_part(d: &Option<String>) -> String {
    d.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
}

impl GraphError {
    pub fn reason(&self) -> FailureReason {
        match self {
            GraphError::Http { status, .. } => match status {
                429 => FailureReason::Throttled,
                401 => FailureReason::Unauthorized,
                403 => FailureReason::Forbidden,
                404 => FailureReason::NotFound,
                408 | 504 => FailureReason::Timeout,
                500..=599 => FailureReason::ServerError,
                // Other 4xx: a request Graph does not accept, which only a code or config change fixes.
                _ => FailureReason::Config,
            },
            GraphError::Token { status, error, .. } => match (status, error.as_str()) {
                (Some(429), _) => FailureReason::Throttled,
                (Some(s), _) if *s >= 500 => FailureReason::ServerError,
                // invalid_client, unauthorized_client, invalid_tenant, invalid_grant…: the credential
                // or the tenant/app identifiers are wrong.
                _ => FailureReason::Unauthorized,
            },
            GraphError::Network { .. } => FailureReason::Network,
            GraphError::Timeout { .. } | GraphError::PollDeadline(_) => FailureReason::Timeout,
            GraphError::Decode { .. } | GraphError::Paging { .. } => FailureReason::Decode,
            GraphError::Config(_) => FailureReason::Config,
            GraphError::ManagedIdentity { reason, .. } => *reason,
            GraphError::Internal(_) => FailureReason::Internal,
        }
    }

    /// Graph's `error.code` (or the token endpoint's `error`), for logs and the status page.
    pub fn graph_code(&self) -> Option<&str> {
        match self {
            GraphError::Http { code, .. } => code.as_deref(),
            GraphError::Token { error, .. } => Some(error),
            GraphError::ManagedIdentity { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// A sentence telling the operator what to do, for the log line and the status page.
    pub fn hint(&self) -> &'static str {
        if let GraphError::ManagedIdentity { reason, .. } = self {
            return managed_identity_hint(*reason);
        }
        match (self.reason(), self.graph_code()) {
            (_, Some("Authentication_RequestFromNonPremiumTenantOrB2CTenant")) => {
                "the tenant needs a Microsoft Entra ID P1 or P2 licence for the authentication-methods reports (B2C tenants are not supported)"
            }
            (
                _,
                Some(
                    "Authentication_MSGraphPermissionMissing" | "Authentication_ApplicationHasNoReadAuditLogDataAccess",
                ),
            ) => {
                "grant the permission named in the message (AuditLog.Read.All, or Reports.Read.All for the legacy reports) and give admin consent"
            }
            (_, Some("Authorization_RequestDenied")) => {
                "the caller lacks a permission or role for this report: check the API permissions and admin consent"
            }
            (_, Some("invalid_grant" | "login_required")) => {
                "the signed-in user's refresh token is missing, expired or revoked: run `entra-authmethods-exporter login --config FILE --tenant NAME` again"
            }
            (_, Some("Authentication_RequestFromUnsupportedUserRole")) => {
                "the signed-in user needs Reports Reader, Security Reader, Security Administrator or Global Reader"
            }
            (_, Some("invalid_client")) => {
                "the client secret is wrong or expired: create a new secret and update client_secret_file"
            }
            (_, Some("unauthorized_client")) => {
                "the application is not registered or not consented in this tenant: check client_id and tenant_id"
            }
            (_, Some("invalid_tenant" | "invalid_request")) => "the tenant was not found: check tenant_id and cloud",
            (FailureReason::Throttled, _) => {
                "Graph is throttling this app in this tenant; lower the request rate or wait"
            }
            (FailureReason::Unauthorized, _) => {
                "the access token was rejected: check the app registration and its credential"
            }
            (FailureReason::Forbidden, _) => "Graph refused access: check the licence and the application permissions",
            (FailureReason::ServerError, _) => "Graph had a server error; it is retried at the next poll",
            (FailureReason::Timeout, _) => "Graph did not answer in time; check connectivity or raise the timeouts",
            (FailureReason::Network, _) => "Graph could not be reached: check DNS, proxy and firewall rules",
            (FailureReason::Decode, _) => "Graph's answer could not be read; report it if it persists",
            (FailureReason::NotFound, _) => "Graph does not know this report here: check the cloud and endpoint",
            (FailureReason::Config, _) => "fix the configuration",
            (FailureReason::Internal, _) => {
                "a bug in the exporter; the poll is retried with backoff. Please report it with this log line"
            }
        }
    }
}

fn managed_identity_hint(reason: FailureReason) -> &'static str {
    match reason {
        FailureReason::Network | FailureReason::Timeout => {
            "managed identity endpoint unreachable: enable a managed identity on this VM, scale set, App Service or node, and make sure 169.254.169.254 (IMDS) or IDENTITY_ENDPOINT is reachable without a proxy"
        }
        FailureReason::Throttled | FailureReason::ServerError => {
            "the managed identity endpoint is starting, updating or throttling; it is retried with backoff"
        }
        FailureReason::Decode => "the managed identity endpoint's answer could not be read; report it if it persists",
        _ => {
            "the managed identity was refused: check that it is enabled on this resource, that client_id names a user-assigned identity attached to it, and (App Service) the identity header"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, code: &str) -> GraphError {
        GraphError::Http {
            endpoint: "userRegistrationDetails".into(),
            status,
            code: Some(code.into()),
            message: Some("m".into()),
            request_id: Some("rid".into()),
        }
    }

    #[test]
    fn statuses_map_to_the_fixed_reasons() {
        assert_eq!(http(429, "TooManyRequests").reason(), FailureReason::Throttled);
        assert_eq!(http(401, "InvalidAuthenticationToken").reason(), FailureReason::Unauthorized);
        assert_eq!(http(403, "x").reason(), FailureReason::Forbidden);
        assert_eq!(http(404, "x").reason(), FailureReason::NotFound);
        assert_eq!(http(503, "x").reason(), FailureReason::ServerError);
        assert_eq!(http(504, "x").reason(), FailureReason::Timeout);
        assert_eq!(http(400, "BadRequest").reason(), FailureReason::Config);
        let token = GraphError::Token { status: Some(401), error: "invalid_client".into(), description: None };
        assert_eq!(token.reason(), FailureReason::Unauthorized);
        assert!(token.hint().contains("client secret"));
    }

    #[test]
    fn managed_identity_errors_keep_their_reason_and_get_their_own_hint() {
        let down = GraphError::ManagedIdentity {
            endpoint: "http://169.254.169.254/metadata/identity/oauth2/token".into(),
            reason: FailureReason::Network,
            code: None,
            message: "unreachable: connection refused".into(),
        };
        assert_eq!(down.reason(), FailureReason::Network);
        assert!(down.hint().contains("managed identity endpoint unreachable"));
        assert_eq!(
            down.to_string(),
            "managed identity endpoint http://169.254.169.254/metadata/identity/oauth2/token: unreachable: connection refused"
        );
        let refused = GraphError::ManagedIdentity {
            endpoint: "e".into(),
            reason: FailureReason::Unauthorized,
            code: Some("invalid_request".into()),
            message: "HTTP 400 invalid_request: Identity not found".into(),
        };
        assert_eq!(refused.graph_code(), Some("invalid_request"));
        assert!(refused.hint().contains("user-assigned"), "not the Entra tenant hint");
    }

    #[test]
    fn licence_errors_get_an_actionable_hint_and_a_full_message() {
        let e = http(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant");
        assert!(e.hint().contains("P1 or P2"));
        assert_eq!(
            e.to_string(),
            "userRegistrationDetails: HTTP 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant: m (request-id rid)"
        );
    }
}
