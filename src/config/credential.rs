//! Application and delegated credentials of a tenant: their settings, which one the keys and
//! `credential` select (including the `auto` chain), and the Azure environment variables that
//! workload identity and managed identity read.

use std::path::PathBuf;

use reqwest::Url;

use super::loading::Invalid;
use super::raw::RawTenant;
use super::tenant::is_guid;
use super::{Cloud, Secret, SecretSource, parse_managed_identity_endpoint};

/// A tenant's application credential: exactly one kind, chosen once by [`validate_credential_kind`]
/// (explicit `credential`, else the keys present, else the `auto` chain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppCredential {
    /// `client_secret` or `client_secret_file`.
    Secret(SecretSource),
    /// `client_certificate_file` (and `client_certificate_key_file`).
    Certificate(CertificateSettings),
    WorkloadIdentity(WorkloadIdentitySettings),
    ManagedIdentity(ManagedIdentitySettings),
}

impl AppCredential {
    /// The `credential` value that names this kind, for logs.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            AppCredential::Secret(_) => "secret",
            AppCredential::Certificate(_) => "certificate",
            AppCredential::WorkloadIdentity(_) => "workload_identity",
            AppCredential::ManagedIdentity(_) => "managed_identity",
        }
    }
}

/// A certificate credential: PEM files re-read at every token request, so rotation needs no restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSettings {
    pub(crate) certificate_file: PathBuf,
    /// The private key, when it is not in `certificate_file`.
    pub(crate) key_file: Option<PathBuf>,
}

/// Workload identity federation: a projected Kubernetes service-account token, re-read at every
/// token request (kubelet rotates it), exchanged for a Graph token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadIdentitySettings {
    /// `AZURE_FEDERATED_TOKEN_FILE`.
    pub token_file: PathBuf,
}

/// The IMDS token endpoint of Azure VMs and scale sets ("How to use managed identities for Azure resources
/// on an Azure VM to acquire an access token",
/// <https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token>).
pub const IMDS_TOKEN_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// An Azure managed identity (see the IMDS page above, and App Service's "Managed identities",
/// <https://learn.microsoft.com/azure/app-service/overview-managed-identity>): tokens from the host's identity endpoint, no secret
/// of ours involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedIdentitySettings {
    /// IMDS, App Service's `IDENTITY_ENDPOINT`, or `managed_identity_endpoint`.
    pub(crate) endpoint: Url,
    /// App Service's `IDENTITY_HEADER`: present means the App Service protocol
    /// (`X-IDENTITY-HEADER`, api-version 2019-08-01), absent means IMDS (`Metadata: true`).
    pub(crate) app_service_header: Option<Secret>,
    /// The user-assigned identity's client ID; `None` for the system-assigned identity.
    pub(crate) client_id: Option<String>,
    /// The token's resource: the cloud's Graph host with a trailing slash.
    pub(crate) resource: String,
}

impl ManagedIdentitySettings {
    /// `"IMDS"` or `"App Service"`, for logs.
    pub(crate) fn protocol(&self) -> &'static str {
        if self.app_service_header.is_some() { "App Service" } else { "IMDS" }
    }
}

/// The variables the Azure Workload Identity webhook injects ("Workload identity federation",
/// <https://learn.microsoft.com/entra/workload-id/workload-identity-federation>), and the ones App
/// Service and Functions set for managed identity (11.5).
#[derive(Debug, Clone, Default)]
pub(super) struct AzureEnv {
    pub(super) federated_token_file: Option<String>,
    pub(super) client_id: Option<String>,
    pub(super) tenant_id: Option<String>,
    pub(super) authority_host: Option<String>,
    pub(super) identity_endpoint: Option<String>,
    pub(super) identity_header: Option<Secret>,
}

impl AzureEnv {
    pub(super) fn from_map(env: &std::collections::HashMap<String, String>) -> Self {
        let get = |k: &str| env.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        AzureEnv {
            federated_token_file: get("AZURE_FEDERATED_TOKEN_FILE"),
            client_id: get("AZURE_CLIENT_ID"),
            tenant_id: get("AZURE_TENANT_ID"),
            authority_host: get("AZURE_AUTHORITY_HOST"),
            identity_endpoint: get("IDENTITY_ENDPOINT"),
            identity_header: get("IDENTITY_HEADER").map(Secret::new),
        }
    }
}

/// A delegated (signed-in user) credential: a refresh token kept in a file by `login` and rotated
/// by the daemon at every use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegatedSettings {
    /// The public client used for the device-code flow; the app registration's client_id unless set.
    pub(crate) client_id: String,
    pub(crate) refresh_token_file: PathBuf,
}

/// The application credential `credential` and the keys present select.
pub(super) struct CredentialChoice {
    pub(super) workload: Option<WorkloadIdentitySettings>,
    pub(super) managed: bool,
    /// Why `credential = "auto"` chose what it chose, for the startup log; `None` when not auto.
    pub(super) auto_reason: Option<&'static str>,
}

/// Checks `credential` against the credential keys present (exactly one application credential),
/// resolves `auto` (configured secret or certificate, then workload identity, then managed
/// identity), and for workload identity fills tenant_id, client_id and login_endpoint from the
/// webhook's variables when the tenant does not set them. Explicit kinds never fall back.
/// An error names the keys it is about (for naming their source) and says what is wrong.
pub(super) fn validate_credential_kind(
    t: &mut RawTenant,
    azure: &AzureEnv,
) -> Result<CredentialChoice, (Vec<&'static str>, String)> {
    const KEYS: [&str; 3] = ["client_secret", "client_secret_file", "client_certificate_file"];
    let secret = t.client_secret.is_some() || t.client_secret_file.is_some();
    let certificate = t.client_certificate_file.is_some();
    if secret && certificate {
        return Err((
            KEYS.to_vec(),
            "set only one of client_secret, client_secret_file and client_certificate_file".into(),
        ));
    }
    let managed_keys = [
        ("managed_identity_endpoint", &t.managed_identity_endpoint),
        ("managed_identity_header", &t.managed_identity_header),
    ];
    if let Some((key, _)) = managed_keys.iter().find(|(_, v)| v.is_some())
        && !matches!(t.credential.as_deref(), Some("managed_identity" | "auto"))
    {
        return Err((vec![key, "credential"], format!("{key} needs credential = \"managed_identity\" or \"auto\"")));
    }
    let keys = CredentialChoice { workload: None, managed: false, auto_reason: None };
    let (workload, auto_reason) = match t.credential.as_deref() {
        None => {
            (!secret && !certificate && t.refresh_token_file.is_none() && azure.federated_token_file.is_some(), None)
        }
        Some("secret") if !secret => {
            return Err((
                vec!["credential"],
                "credential = \"secret\" needs client_secret_file or client_secret".into(),
            ));
        }
        Some("certificate") if !certificate => {
            return Err((vec!["credential"], "credential = \"certificate\" needs client_certificate_file".into()));
        }
        Some("secret") | Some("certificate") => return Ok(keys),
        Some(kind @ ("workload_identity" | "managed_identity")) if secret || certificate => {
            return Err((
                [&["credential"][..], &KEYS].concat(),
                format!(
                    "credential = {kind:?} cannot be combined with client_secret, client_secret_file or client_certificate_file"
                ),
            ));
        }
        Some("workload_identity") => (true, None),
        Some("managed_identity") => return Ok(CredentialChoice { managed: true, ..keys }),
        Some("auto") if secret => {
            return Ok(CredentialChoice { auto_reason: Some("a client secret is configured"), ..keys });
        }
        Some("auto") if certificate => {
            return Ok(CredentialChoice { auto_reason: Some("client_certificate_file is configured"), ..keys });
        }
        Some("auto") if azure.federated_token_file.is_some() => {
            (true, Some("no secret or certificate is configured and AZURE_FEDERATED_TOKEN_FILE is set"))
        }
        Some("auto") => {
            let reason = "no secret or certificate is configured and AZURE_FEDERATED_TOKEN_FILE is not set";
            return Ok(CredentialChoice { managed: true, auto_reason: Some(reason), ..keys });
        }
        Some(other) => {
            return Err((
                vec!["credential"],
                format!(
                    "credential = {other:?} is not one of \"secret\", \"certificate\", \"workload_identity\", \"managed_identity\", \"auto\""
                ),
            ));
        }
    };
    if !workload {
        return Ok(keys);
    }
    let Some(token_file) = &azure.federated_token_file else {
        return Err((
            vec!["credential"],
            "credential = \"workload_identity\" needs the environment variable AZURE_FEDERATED_TOKEN_FILE (set by the Azure Workload Identity webhook)".into(),
        ));
    };
    if t.tenant_id.is_none() {
        t.tenant_id.clone_from(&azure.tenant_id);
    }
    if t.client_id.is_none() {
        t.client_id.clone_from(&azure.client_id);
    }
    if t.login_endpoint.is_none() {
        t.login_endpoint.clone_from(&azure.authority_host);
    }
    Ok(CredentialChoice {
        workload: Some(WorkloadIdentitySettings { token_file: PathBuf::from(token_file) }),
        managed: false,
        auto_reason,
    })
}

/// The credentials set by key rather than chosen by `credential`: a secret or a certificate (the
/// application credential unless `credential` chose another kind) and the delegated one.
pub(super) struct KeyedCredentials {
    pub(super) certificate: Option<CertificateSettings>,
    pub(super) secret: Option<SecretSource>,
    pub(super) delegated: Option<DelegatedSettings>,
}

/// Checks the secret, certificate and delegated keys of a tenant (without reading their files) and
/// that it has at least one credential. `workload` and `managed`: what `credential` chose; `err`
/// makes an error about the tenant's keys.
pub(super) fn keyed_credentials(
    t: &mut RawTenant,
    workload: bool,
    managed: bool,
    client_id: &str,
    err: &dyn Fn(&[&str], String) -> Invalid,
) -> Result<KeyedCredentials, Invalid> {
    let client_certificate = match (t.client_certificate_file.take(), t.client_certificate_key_file.take()) {
        // The files are read by the preflight step (src/preflight.rs), not here.
        (Some(certificate_file), key_file) => Some(CertificateSettings { certificate_file, key_file }),
        (None, Some(_)) => {
            return Err(err(
                &["client_certificate_key_file"],
                "client_certificate_key_file needs client_certificate_file".into(),
            ));
        }
        (None, None) => None,
    };
    let client_secret = match (t.client_secret.take(), t.client_secret_file.take()) {
        (Some(_), Some(_)) => {
            return Err(err(
                &["client_secret", "client_secret_file"],
                "set either client_secret or client_secret_file, not both".into(),
            ));
        }
        (Some(s), None) if !s.is_empty() => Some(SecretSource::Inline(Secret::new(s))),
        (Some(_), None) => return Err(err(&["client_secret"], "client_secret is empty".into())),
        (None, Some(path)) => Some(SecretSource::File(path)),
        (None, None) => None,
    };
    let delegated = match (t.refresh_token_file.take(), t.delegated_client_id.take()) {
        (Some(_), None) if managed => {
            // A managed identity cannot sign users in: the public client must be named.
            return Err(err(
                &["refresh_token_file", "credential"],
                "refresh_token_file with a managed identity needs delegated_client_id (the app registration used by `login`)".into(),
            ));
        }
        (Some(file), client) => {
            let client_id = client.unwrap_or_else(|| client_id.to_string());
            if !is_guid(&client_id) {
                return Err(err(
                    &["delegated_client_id", "client_id"],
                    format!("delegated_client_id = {client_id:?} is not a GUID"),
                ));
            }
            Some(DelegatedSettings { client_id, refresh_token_file: file })
        }
        (None, Some(_)) => {
            return Err(err(
                &["delegated_client_id", "refresh_token_file"],
                "delegated_client_id needs refresh_token_file".into(),
            ));
        }
        (None, None) => None,
    };
    if client_secret.is_none() && client_certificate.is_none() && !workload && !managed && delegated.is_none() {
        return Err(err(
            &[],
            "a credential is required: set client_secret_file (preferred) or client_secret, client_certificate_file, or credential = \"workload_identity\", \"managed_identity\" or \"auto\", and/or refresh_token_file for delegated reports".into(),
        ));
    }
    Ok(KeyedCredentials { certificate: client_certificate, secret: client_secret, delegated })
}

/// Where a managed identity gets tokens: the configured endpoint (App Service protocol when
/// `managed_identity_header` is set), else App Service's `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`
/// when both are in the environment, else IMDS.
pub(super) fn managed_identity_settings(
    endpoint: Option<String>,
    header: Option<String>,
    client_id: Option<String>,
    cloud: Cloud,
    azure: &AzureEnv,
) -> Result<ManagedIdentitySettings, String> {
    if header.as_deref().is_some_and(|h| h.trim().is_empty()) {
        return Err("managed_identity_header is empty".into());
    }
    let header = header.map(Secret::new);
    let (endpoint, app_service_header) = match (endpoint, header) {
        (Some(url), header) => {
            (parse_managed_identity_endpoint("managed_identity_endpoint", &url).map_err(|e| e.to_string())?, header)
        }
        (None, Some(header)) => match &azure.identity_endpoint {
            Some(url) => {
                let url = parse_managed_identity_endpoint("IDENTITY_ENDPOINT (environment)", url)
                    .map_err(|e| e.to_string())?;
                (url, Some(header))
            }
            None => {
                return Err(
                    "managed_identity_header needs managed_identity_endpoint or the environment variable IDENTITY_ENDPOINT".into(),
                );
            }
        },
        (None, None) => match (&azure.identity_endpoint, &azure.identity_header) {
            (Some(url), Some(header)) => {
                let url = parse_managed_identity_endpoint("IDENTITY_ENDPOINT (environment)", url)
                    .map_err(|e| e.to_string())?;
                (url, Some(header.clone()))
            }
            _ => {
                let url = parse_managed_identity_endpoint("managed identity endpoint", IMDS_TOKEN_ENDPOINT)
                    .map_err(|e| e.to_string())?;
                (url, None)
            }
        },
    };
    Ok(ManagedIdentitySettings {
        endpoint,
        app_service_header,
        client_id,
        resource: format!("{}/", cloud.graph_endpoint()),
    })
}
