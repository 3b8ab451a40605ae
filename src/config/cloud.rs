//! National clouds and endpoint checks (Microsoft Graph, "National cloud deployments",
//! <https://learn.microsoft.com/graph/deployments>).

use std::net::IpAddr;

use reqwest::Url;

/// The Microsoft cloud a tenant lives in. It decides the Graph host, the login host and the token scope;
/// tokens are not interchangeable across clouds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cloud {
    #[default]
    Global,
    Usgov,
    UsgovDod,
    China,
}

impl Cloud {
    pub(crate) const ALL: [Cloud; 4] = [Cloud::Global, Cloud::Usgov, Cloud::UsgovDod, Cloud::China];

    pub(crate) fn parse(value: &str) -> Result<Cloud, String> {
        Cloud::ALL.into_iter().find(|c| c.as_str() == value).ok_or_else(|| {
            let names: Vec<String> = Cloud::ALL.iter().map(|c| format!("{:?}", c.as_str())).collect();
            format!("cloud = {value:?} is not one of {}", names.join(", "))
        })
    }

    /// The label value of `entra_authmethods_tenant_info{cloud}` and the config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::Usgov => "usgov",
            Cloud::UsgovDod => "usgov-dod",
            Cloud::China => "china",
        }
    }

    pub(crate) fn graph_endpoint(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::Usgov => "https://graph.microsoft.us",
            Cloud::UsgovDod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    pub(crate) fn login_endpoint(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::Usgov | Cloud::UsgovDod => "https://login.microsoftonline.us",
            // The Graph docs name login.chinacloudapi.cn, the Entra docs login.partner.microsoftonline.cn;
            // the latter is the authority MSAL uses, and login_endpoint can override it.
            Cloud::China => "https://login.partner.microsoftonline.cn",
        }
    }
}

/// Why an endpoint URL is refused. The message names the key and the value (never credentials
/// embedded in the URL); the managed-identity check words a refused plain-http host its own way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EndpointError {
    #[error("{key} = {value:?} is not a URL: {reason}")]
    NotAUrl { key: String, value: String, reason: url::ParseError },
    #[error("{key} = {value:?} must be an absolute http(s) URL with a host")]
    NoHost { key: String, value: String },
    #[error("{key} = {value:?} must not carry a query or fragment")]
    QueryOrFragment { key: String, value: String },
    #[error("{key} must not embed credentials in the URL")]
    Credentials { key: String },
    #[error(
        "{key} = {value:?} uses plain http to a non-loopback host; use https (plain http is allowed only for 127.0.0.0/8, [::1] and localhost)"
    )]
    PlainHttp { key: String, value: String },
    #[error(
        "{key} = {value:?} uses plain http to a host that is neither loopback nor IMDS; use https (plain http is allowed only for 169.254.169.254, 127.0.0.0/8, [::1] and localhost)"
    )]
    PlainHttpManagedIdentity { key: String, value: String },
    /// IMDS's address, with something IMDS is never called with.
    #[error("{key} = {value:?} must not carry a query, fragment or credentials")]
    ImdsExtras { key: String, value: String },
    #[error("{key} = {value:?} has scheme {scheme:?}; use https")]
    Scheme { key: String, value: String, scheme: String },
}

/// Parses an endpoint override and enforces the transport rule: https everywhere, plain http only to a
/// loopback host (the simulator, a local proxy), so a typo can never send a client secret in clear text.
pub(crate) fn parse_endpoint(key: &str, value: &str) -> Result<Url, EndpointError> {
    let (k, v) = (key.to_string(), value.to_string());
    let url =
        Url::parse(value).map_err(|reason| EndpointError::NotAUrl { key: k.clone(), value: v.clone(), reason })?;
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(EndpointError::NoHost { key: k, value: v });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(EndpointError::QueryOrFragment { key: k, value: v });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(EndpointError::Credentials { key: k });
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_host(&url) => Ok(url),
        "http" => Err(EndpointError::PlainHttp { key: k, value: v }),
        other => Err(EndpointError::Scheme { key: k, value: v, scheme: other.to_string() }),
    }
}

/// Azure's Instance Metadata Service: plain http on a link-local address by design (the hypervisor
/// answers it; it never leaves the host).
pub(crate) const IMDS_ADDRESS: std::net::Ipv4Addr = std::net::Ipv4Addr::new(169, 254, 169, 254);

/// Like [`parse_endpoint`] for a managed-identity endpoint, which may also be plain http to exactly
/// IMDS's address: App Service's endpoint is plain http on loopback, IMDS plain http on 169.254.169.254,
/// and nothing else may receive the identity header or hand out tokens over clear text.
pub(crate) fn parse_managed_identity_endpoint(key: &str, value: &str) -> Result<Url, EndpointError> {
    let (k, v) = (key.to_string(), value.to_string());
    let url =
        Url::parse(value).map_err(|reason| EndpointError::NotAUrl { key: k.clone(), value: v.clone(), reason })?;
    if url.scheme() == "http" && url.host() == Some(url::Host::Ipv4(IMDS_ADDRESS)) {
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
            return Err(EndpointError::ImdsExtras { key: k, value: v });
        }
        return Ok(url);
    }
    parse_endpoint(key, value).map_err(|e| match e {
        EndpointError::PlainHttp { key, value } => EndpointError::PlainHttpManagedIdentity { key, value },
        e => e,
    })
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_accepted_anywhere_and_http_only_on_loopback() {
        assert!(parse_endpoint("graph_endpoint", "https://graph.example.net").is_ok());
        assert!(parse_endpoint("graph_endpoint", "http://127.0.0.1:8080").is_ok());
        assert!(parse_endpoint("graph_endpoint", "http://127.3.4.5").is_ok());
        assert!(parse_endpoint("graph_endpoint", "http://[::1]:9000").is_ok());
        assert!(parse_endpoint("graph_endpoint", "http://LOCALHOST:9000").is_ok());
        assert!(matches!(parse_endpoint("graph_endpoint", "http://10.0.0.1"), Err(EndpointError::PlainHttp { .. })));
        let err = parse_endpoint("graph_endpoint", "http://10.0.0.1").unwrap_err().to_string();
        assert!(err.contains("plain http"), "{err}");
        assert!(parse_endpoint("graph_endpoint", "http://localhost.evil.example").is_err());
        assert!(parse_endpoint("login_endpoint", "ftp://x").is_err());
        assert!(parse_endpoint("login_endpoint", "not a url").is_err());
        assert!(parse_endpoint("login_endpoint", "https://u:p@host").is_err());
    }

    #[test]
    fn managed_identity_endpoints_allow_plain_http_only_to_imds_and_loopback() {
        let key = "managed_identity_endpoint";
        assert!(parse_managed_identity_endpoint(key, "http://169.254.169.254/metadata/identity/oauth2/token").is_ok());
        assert!(parse_managed_identity_endpoint(key, "http://127.0.0.1:41741/MSI/token/").is_ok());
        assert!(parse_managed_identity_endpoint(key, "https://identity.example.net/token").is_ok());
        for bad in ["http://169.254.169.253/token", "http://10.0.0.4/token", "http://169.254.169.254.nip.io/x"] {
            let err = parse_managed_identity_endpoint(key, bad).unwrap_err().to_string();
            assert!(err.contains(key) && err.contains("169.254.169.254"), "{err}");
        }
        assert!(parse_managed_identity_endpoint(key, "http://169.254.169.254/x?api-version=1").is_err());
        assert!(parse_managed_identity_endpoint(key, "not a url").is_err());
    }

    /// Microsoft Graph, "National cloud deployments", and docs/configuration.md's "National clouds"
    /// table, host for host: the Graph host, the
    /// login host (authority) and the `.default` scope each tenant's tokens are requested for.
    #[test]
    fn each_cloud_has_the_documented_graph_host_login_host_and_scope() {
        let table = [
            (
                "global",
                "https://graph.microsoft.com",
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com/.default",
            ),
            (
                "usgov",
                "https://graph.microsoft.us",
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us/.default",
            ),
            (
                "usgov-dod",
                "https://dod-graph.microsoft.us",
                "https://login.microsoftonline.us",
                "https://dod-graph.microsoft.us/.default",
            ),
            (
                "china",
                "https://microsoftgraph.chinacloudapi.cn",
                "https://login.partner.microsoftonline.cn",
                "https://microsoftgraph.chinacloudapi.cn/.default",
            ),
        ];
        assert_eq!(table.len(), Cloud::ALL.len(), "one row per cloud");
        for (name, graph, login, scope) in table {
            let cloud = Cloud::parse(name).unwrap();
            assert_eq!((cloud.graph_endpoint(), cloud.login_endpoint()), (graph, login), "{name}");
            // The scope the exporter actually requests, from a parsed configuration.
            let toml = format!(
                "[[tenant]]\nname = \"t\"\ntenant_id = \"t.example\"\nclient_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\nclient_secret = \"s\"\ncloud = \"{name}\"\n"
            );
            let settings = crate::config::from_toml_str(&toml).unwrap();
            let tenant = &settings.tenants[0];
            assert_eq!(tenant.cloud, cloud);
            assert_eq!(tenant.scope(), scope, "{name}");
            assert_eq!(crate::graph::delegated_scope(tenant), format!("{scope} offline_access"), "{name}");
        }
    }

    #[test]
    fn every_cloud_has_https_hosts() {
        for c in Cloud::ALL {
            assert_eq!(Cloud::parse(c.as_str()), Ok(c));
            assert!(parse_endpoint("x", c.graph_endpoint()).is_ok());
            assert!(parse_endpoint("x", c.login_endpoint()).is_ok());
        }
    }
}
