//! One error type for everything that can go wrong talking to Graph or its token endpoint, classified
//! into the fixed set of failure reasons (defined in [`crate::health`]) the poll-health metrics use.

pub use crate::health::FailureReason;

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

    /// The credential's own material could not be used (a secret, certificate or federated token
    /// file unreadable or invalid), so no token request was sent. Kept apart from `Config` because,
    /// like a refused token request, it fails every report using the credential at once.
    #[error("{0}")]
    Credential(String),

    /// The managed-identity endpoint (IMDS or App Service) failed or refused; `reason` is decided
    /// where the answer is read, because its statuses mean other things than Graph's or Entra's.
    #[error("managed identity endpoint {endpoint}: {message}")]
    ManagedIdentity { endpoint: String, reason: FailureReason, code: Option<String>, message: String },
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
    pub(crate) fn reason(&self) -> FailureReason {
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
            GraphError::Timeout { .. } => FailureReason::Timeout,
            GraphError::Decode { .. } | GraphError::Paging { .. } => FailureReason::Decode,
            GraphError::Config(_) | GraphError::Credential(_) => FailureReason::Config,
            GraphError::ManagedIdentity { reason, .. } => *reason,
        }
    }

    /// Graph's `error.code` (or the token endpoint's `error`), for logs and the status page.
    pub(crate) fn graph_code(&self) -> Option<&str> {
        match self {
            GraphError::Http { code, .. } => code.as_deref(),
            GraphError::Token { error, .. } => Some(error),
            GraphError::ManagedIdentity { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The AADSTS number of a token-endpoint error, from its description ("AADSTS700027: …").
    /// Entra's `error` is coarse (`invalid_client` covers a wrong secret and a refused certificate
    /// alike); this number says which.
    pub(crate) fn aadsts_code(&self) -> Option<u32> {
        let GraphError::Token { description: Some(d), .. } = self else { return None };
        let digits = &d[d.find("AADSTS")? + "AADSTS".len()..];
        let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
        digits[..end].parse().ok()
    }

    /// Where a failed token request went, when this error is one: the tenant's login endpoint or its
    /// managed-identity endpoint. Token acquisition is shared by every report of a credential, so the
    /// poller logs such a failure once per tenant rather than once per report.
    pub(crate) fn token_source(&self) -> Option<TokenSource<'_>> {
        match self {
            GraphError::Token { .. } => Some(TokenSource::Login),
            GraphError::ManagedIdentity { endpoint, .. } => Some(TokenSource::ManagedIdentity(endpoint)),
            GraphError::Credential(_) => Some(TokenSource::Material),
            GraphError::Network { endpoint, .. }
            | GraphError::Timeout { endpoint, .. }
            | GraphError::Decode { endpoint, .. }
                if endpoint == TOKEN_ENDPOINT =>
            {
                Some(TokenSource::Login)
            }
            _ => None,
        }
    }

    /// A sentence telling the operator what to do, for the log line and the status page.
    pub(crate) fn hint(&self) -> &'static str {
        if let GraphError::ManagedIdentity { reason, .. } = self {
            return managed_identity_hint(*reason);
        }
        if let Some(hint) = self.aadsts_code().and_then(aadsts_hint) {
            return hint;
        }
        match self.graph_code() {
            Some("Authentication_RequestFromNonPremiumTenantOrB2CTenant") => {
                "the tenant needs a Microsoft Entra ID P1 or P2 licence for the authentication-methods reports (B2C tenants are not supported)"
            }
            Some(
                "Authentication_MSGraphPermissionMissing" | "Authentication_ApplicationHasNoReadAuditLogDataAccess",
            ) => {
                "grant the permission named in the message (AuditLog.Read.All, or Reports.Read.All for the legacy reports) and give admin consent"
            }
            // Graph's answer for an object id it does not know; of what the exporter reads, only a
            // configured group id can be unknown.
            Some("Request_ResourceNotFound") => {
                "a configured group does not exist in this tenant: check the group IDs in [[tenant.group]] and exclude_groups"
            }
            Some("Authorization_RequestDenied") => {
                "the caller lacks a permission or role for this report: check the API permissions and admin consent"
            }
            Some("invalid_grant" | "login_required") => {
                "the signed-in user's refresh token is missing, expired or revoked: run `entra-authmethods-exporter login --config FILE --tenant NAME` again"
            }
            Some("Authentication_RequestFromUnsupportedUserRole") => {
                "the signed-in user needs Reports Reader, Security Reader, Security Administrator or Global Reader"
            }
            // Token errors without a known AADSTS number (those are handled above).
            Some("invalid_client") => {
                "Entra refused the application's credential: check the client secret or certificate in the configuration against the app registration's Certificates & secrets"
            }
            Some("unauthorized_client") => {
                "the application is not registered or not consented in this tenant: check client_id and tenant_id"
            }
            Some("invalid_tenant") => "the tenant was not found: check tenant_id and cloud",
            Some("invalid_scope") => SCOPE_HINT,
            Some("invalid_request") => {
                "Entra refused the token request: check tenant_id, client_id and the credential settings against the AADSTS message"
            }
            // Graph was never asked: the reason's own hint would send the operator to the wrong host.
            _ if self.token_source() == Some(TokenSource::Login) => match self.reason() {
                FailureReason::Network => LOGIN_NETWORK_HINT,
                FailureReason::Timeout => LOGIN_TIMEOUT_HINT,
                _ => {
                    "the login endpoint's answer could not be read; check login_endpoint and any proxy, and report it if it persists"
                }
            },
            _ => reason_hint(self.reason()),
        }
    }
}

/// The `endpoint` that errors of the token endpoint's transport carry (the login endpoint's
/// `/oauth2/v2.0/token`), as opposed to Graph's report paths.
pub(crate) const TOKEN_ENDPOINT: &str = "token";

/// Which endpoint a failed token request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenSource<'a> {
    /// The tenant's `login_endpoint` (Entra's token endpoint), for secrets, certificates, workload
    /// identity and refresh tokens.
    Login,
    /// The managed-identity endpoint (IMDS or App Service), by its URL.
    ManagedIdentity(&'a str),
    /// None: the credential's files could not be used, so nothing was sent.
    Material,
}

const LOGIN_NETWORK_HINT: &str = "the login endpoint could not be reached (Graph was not asked): check DNS, proxy and firewall rules for the tenant's login_endpoint, and cloud";
const LOGIN_TIMEOUT_HINT: &str = "the login endpoint did not answer in time (Graph was not asked): check connectivity to the tenant's login_endpoint or raise request_timeout";

/// What to do about a failure known only by its reason.
pub(crate) fn reason_hint(reason: FailureReason) -> &'static str {
    match reason {
        FailureReason::Throttled => "Graph is throttling this app in this tenant; lower the request rate or wait",
        FailureReason::Unauthorized => "the access token was rejected: check the app registration and its credential",
        FailureReason::Forbidden => "Graph refused access: check the licence and the application permissions",
        FailureReason::ServerError => "Graph had a server error; it is retried at the next poll",
        FailureReason::Timeout => "Graph did not answer in time; check connectivity or raise the timeouts",
        FailureReason::Network => "Graph could not be reached: check DNS, proxy and firewall rules",
        FailureReason::Decode => "Graph's answer could not be read; report it if it persists",
        FailureReason::NotFound => "Graph does not know this report here: check the cloud and endpoint",
        FailureReason::Config => "fix the configuration",
        FailureReason::Internal => {
            "a bug in the exporter; the poll is retried with backoff. Please report it with this log line"
        }
    }
}

/// What to do about a token-endpoint error, by its AADSTS number (Microsoft identity platform, "Microsoft
/// Entra authentication and authorization error codes",
/// <https://learn.microsoft.com/entra/identity-platform/reference-error-codes>). Entra says
/// its texts may change; the numbers are stable.
fn aadsts_hint(code: u32) -> Option<&'static str> {
    Some(match code {
        7000215 => {
            "the client secret is wrong: put the secret's Value (not its Secret ID) from the app registration's Certificates & secrets into client_secret_file"
        }
        7000222 => {
            "the client secret has expired: create a new secret under the app registration's Certificates & secrets and update client_secret_file"
        }
        7000218 => {
            "the token request carried no credential: set client_secret_file, client_certificate_file or workload identity for this tenant"
        }
        700027 => {
            "Entra refused the certificate: upload this certificate (the public part) under the app registration's Certificates & secrets, and check its validity dates and that client_certificate_key_file holds its key"
        }
        700024 => {
            "the client assertion is outside its valid time range: check this host's clock (NTP); with workload identity, check that the projected token file is refreshed"
        }
        700021 => "the client assertion was made for another application: check client_id",
        70021 => {
            "no federated credential of the app registration matches the token: add one with the cluster's OIDC issuer URL, subject system:serviceaccount:<namespace>:<service account> and audience api://AzureADTokenExchange"
        }
        50027 => {
            "the client assertion is not a valid JWT: check the federated token file (AZURE_FEDERATED_TOKEN_FILE) or the certificate files"
        }
        700016 => {
            "the application was not found in this tenant: check client_id (the app registration's Application (client) ID) and tenant_id, and that the app is registered or consented in this tenant"
        }
        90002 => "the tenant was not found: check tenant_id and cloud",
        // The tenant lives behind another login host; the message names that cloud.
        90038 => {
            "the tenant belongs to another national cloud, named in the message: set cloud to it (\"usgov\" or \"usgov-dod\" for microsoftonline.us, \"china\" for the 21Vianet cloud, \"global\" for MicrosoftOnline.COM)"
        }
        // The scope is not the tenant's Graph, as with usgov and usgov-dod, which share a login host.
        70011 | 500011 => SCOPE_HINT,
        _ => return None,
    })
}

const SCOPE_HINT: &str = "the token scope is not this tenant's Microsoft Graph: check cloud and graph_endpoint for this tenant (usgov and usgov-dod have different Graph hosts)";

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

impl crate::health::PollFailure for GraphError {
    fn reason(&self) -> FailureReason {
        GraphError::reason(self)
    }

    fn graph_code(&self) -> Option<&str> {
        GraphError::graph_code(self)
    }

    fn hint(&self) -> &'static str {
        GraphError::hint(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every AADSTS code with a hint and every failure reason is explained in the manual's
    /// troubleshooting table, so a hint in the log always has its longer explanation.
    #[test]
    fn the_troubleshooting_page_covers_every_hinted_code_and_every_reason() {
        let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/troubleshooting.md")).unwrap();
        let source = include_str!("error.rs");
        let table = &source[source.find("fn aadsts_hint").unwrap()..source.find("const SCOPE_HINT").unwrap()];
        let codes: Vec<u32> = table
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| n.len() >= 5)
            .map(|n| n.parse().unwrap())
            .filter(|c| aadsts_hint(*c).is_some())
            .collect();
        assert!(codes.len() >= 12, "{codes:?}");
        for code in codes {
            assert!(page.contains(&format!("AADSTS{code}")) || page.contains(&format!(", {code})")), "AADSTS{code}");
        }
        for reason in FailureReason::ALL {
            assert!(page.contains(&format!("`{}`", reason.as_str())), "{}", reason.as_str());
        }
    }

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
        assert!(token.hint().contains("client secret or certificate"), "no AADSTS code: either credential");
    }

    fn token(status: u16, error: &str, description: &str) -> GraphError {
        GraphError::Token { status: Some(status), error: error.into(), description: Some(description.into()) }
    }

    #[test]
    fn token_hints_follow_the_aadsts_code_not_only_the_error() {
        // (status, error, first line of error_description as Entra sends it, a phrase of the hint)
        let cases = [
            (
                401,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided.",
                "secret's Value (not its Secret ID)",
            ),
            (
                401,
                "invalid_client",
                "AADSTS7000222: The provided client secret keys for app 'x' are expired.",
                "client secret has expired",
            ),
            (
                401,
                "invalid_client",
                "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                "carried no credential",
            ),
            (
                401,
                "invalid_client",
                "AADSTS700027: Client assertion failed signature validation. [Reason - The key was not found.]",
                "upload this certificate",
            ),
            (
                401,
                "invalid_client",
                "AADSTS700024: Client assertion is not within its valid time range.",
                "clock (NTP)",
            ),
            (
                401,
                "invalid_client",
                "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter.",
                "check client_id",
            ),
            (
                400,
                "invalid_request",
                "AADSTS70021: No matching federated identity record found for presented assertion.",
                "api://AzureADTokenExchange",
            ),
            (400, "invalid_request", "AADSTS50027: JWT token is invalid or malformed.", "AZURE_FEDERATED_TOKEN_FILE"),
            (
                400,
                "unauthorized_client",
                "AADSTS700016: Application with identifier 'x' was not found in the directory 'y'.",
                "Application (client) ID",
            ),
            (400, "invalid_tenant", "AADSTS90002: Tenant 'x' not found.", "tenant was not found"),
            // The older form of 90002 had error invalid_request: the code still says which.
            (400, "invalid_request", "AADSTS90002: Tenant 'x' not found.", "tenant was not found"),
            (400, "invalid_request", "AADSTS90038: Tenant 'x' belongs to another cloud.", "another national cloud"),
            (
                400,
                "invalid_scope",
                "AADSTS70011: The provided value for the input parameter 'scope' isn't valid.",
                "check cloud and graph_endpoint",
            ),
        ];
        for (status, error, description, phrase) in cases {
            let e = token(status, error, description);
            assert_eq!(e.aadsts_code(), description[6..].split(':').next().unwrap().parse().ok(), "{description}");
            assert!(e.hint().contains(phrase), "{description} → {}", e.hint());
            assert_eq!(e.reason(), FailureReason::Unauthorized, "{description}");
        }
        // The certificate's and the federated credential's failures never blame the secret, and an
        // unmatched federated credential never blames the tenant.
        for description in ["AADSTS700027: x", "AADSTS700024: x", "AADSTS70021: x"] {
            let hint = token(400, "invalid_client", description).hint();
            assert!(!hint.contains("client_secret_file") && !hint.contains("tenant was not found"), "{hint}");
        }
        // An unknown code falls back to the error.
        assert!(token(400, "invalid_tenant", "AADSTS1: x").hint().contains("tenant was not found"));
        assert!(token(400, "invalid_request", "AADSTS1: x").hint().contains("Entra refused the token request"));
        assert_eq!(token(400, "invalid_request", "no number here").aadsts_code(), None);
        assert_eq!(http(401, "InvalidAuthenticationToken").aadsts_code(), None);
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
    fn a_wrong_cloud_is_named_in_the_hint() {
        let redirected = GraphError::Token {
            status: Some(400),
            error: "invalid_request".into(),
            description: Some(
                "AADSTS90038: Tenant 'contoso.us' request is being redirected to the National Cloud 'microsoftonline.us'."
                    .into(),
            ),
        };
        assert_eq!(redirected.reason(), FailureReason::Unauthorized);
        assert!(redirected.hint().contains("another national cloud") && redirected.hint().contains("usgov-dod"));
        let scope = GraphError::Token { status: Some(400), error: "invalid_scope".into(), description: None };
        assert!(scope.hint().contains("cloud"), "{}", scope.hint());
        let other = GraphError::Token { status: Some(400), error: "invalid_request".into(), description: None };
        assert!(!other.hint().contains("national cloud"), "only AADSTS90038 gets the national-cloud hint");
    }

    #[test]
    fn token_endpoint_failures_blame_the_login_endpoint_not_graph() {
        let at = |endpoint: &str| GraphError::Network { endpoint: endpoint.into(), message: "dns error".into() };
        let login = at(TOKEN_ENDPOINT);
        assert_eq!(login.token_source(), Some(TokenSource::Login));
        assert!(login.hint().starts_with("the login endpoint could not be reached"), "{}", login.hint());
        assert!(!login.hint().contains("Graph could not"), "{}", login.hint());
        let graph = at("userRegistrationDetails");
        assert_eq!(graph.token_source(), None);
        assert!(graph.hint().starts_with("Graph could not be reached"));
        let slow = GraphError::Timeout { endpoint: TOKEN_ENDPOINT.into(), message: "m".into() };
        assert!(slow.hint().starts_with("the login endpoint did not answer in time"), "{}", slow.hint());
        let token = token(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
        assert_eq!(token.token_source(), Some(TokenSource::Login));
        let mi = GraphError::ManagedIdentity {
            endpoint: "http://169.254.169.254/x".into(),
            reason: FailureReason::Network,
            code: None,
            message: "m".into(),
        };
        assert_eq!(mi.token_source(), Some(TokenSource::ManagedIdentity("http://169.254.169.254/x")));
        assert_eq!(http(403, "x").token_source(), None);
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
