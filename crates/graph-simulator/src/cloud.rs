//! National clouds as the token endpoints see them (Microsoft identity platform, "OAuth 2.0 client credentials flow"
//! (<https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow>); Microsoft Graph, "National
//! cloud deployments" (<https://learn.microsoft.com/graph/deployments>)): each tenant lives in one cloud, its tokens are
//! for that cloud's Graph only, and a cloud's login host (its "cloud instance") does not know the tenants of another
//! one.
//!
//! The simulator serves every cloud from one listener, so it cannot tell from the host which login
//! endpoint a client meant; it goes by the Graph resource the client asks a token for. A known
//! Graph of a cloud with another login host means the client was configured for the wrong cloud,
//! which real Entra answers with AADSTS90038 (the tenant "is being redirected to the National
//! Cloud …"); any other resource that is not the tenant's Graph (including the other Graph behind
//! the same login host, usgov against usgov-dod) is AADSTS70011 `invalid_scope`.

use super::entra::EntraError;

/// The cloud a simulated tenant lives in ([`super::SimTenantConfig::cloud`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SimCloud {
    /// Worldwide (including Microsoft 365 GCC).
    #[default]
    Global,
    /// US Government L4 (GCC High).
    Usgov,
    /// US Government L5 (DoD).
    UsgovDod,
    /// China, operated by 21Vianet.
    China,
}

impl SimCloud {
    pub const ALL: [SimCloud; 4] = [SimCloud::Global, SimCloud::Usgov, SimCloud::UsgovDod, SimCloud::China];

    /// The Graph resource (host) tokens of this cloud are for (Microsoft Graph, "National cloud deployments"
    /// (<https://learn.microsoft.com/graph/deployments>)).
    pub fn graph_resource(self) -> &'static str {
        match self {
            SimCloud::Global => "https://graph.microsoft.com",
            SimCloud::Usgov => "https://graph.microsoft.us",
            SimCloud::UsgovDod => "https://dod-graph.microsoft.us",
            SimCloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// The client-credentials scope this cloud's tenants must request: `{graph}/.default`.
    pub fn default_scope(self) -> String {
        format!("{}/.default", self.graph_resource())
    }

    /// The cloud instance behind the login host, as AADSTS90038 names it. US Gov L4 and L5 share
    /// `login.microsoftonline.us`, hence one instance. The global and US names are those of real
    /// answers (`'MicrosoftOnline.COM'`, `'microsoftonline.us'`); China's follows its login host.
    pub(crate) fn instance(self) -> &'static str {
        match self {
            SimCloud::Global => "MicrosoftOnline.COM",
            SimCloud::Usgov | SimCloud::UsgovDod => "microsoftonline.us",
            SimCloud::China => "partner.microsoftonline.cn",
        }
    }

    /// The cloud whose Graph `resource` is (case-insensitive, a trailing slash allowed).
    pub(crate) fn of_graph_resource(resource: &str) -> Option<SimCloud> {
        let r = resource.strip_suffix('/').unwrap_or(resource);
        SimCloud::ALL.into_iter().find(|c| c.graph_resource().eq_ignore_ascii_case(r))
    }
}

/// Checks that a token for `resource` (a scope's resource part, or a managed-identity `resource`)
/// may be issued to a tenant of `cloud`: `Err(Some(tenant's cloud))` when the resource is the Graph
/// of a cloud with another login host (AADSTS90038), `Err(None)` for any other foreign resource.
pub(crate) fn check_resource(cloud: SimCloud, resource: &str) -> Result<(), Option<SimCloud>> {
    match SimCloud::of_graph_resource(resource) {
        Some(c) if c == cloud => Ok(()),
        Some(c) if c.instance() != cloud.instance() => Err(Some(cloud)),
        _ => Err(None),
    }
}

/// [`check_resource`] as the token endpoint's answer: AADSTS90038 naming the tenant as the client
/// sent it, else AADSTS70011 quoting `scope_shown`.
pub(crate) fn check_scope(
    cloud: SimCloud,
    resource: &str,
    tenant_segment: &str,
    scope_shown: &str,
) -> Result<(), EntraError> {
    check_resource(cloud, resource).map_err(|other| match other {
        Some(home) => EntraError::national_cloud_redirect(tenant_segment, home),
        None => EntraError::invalid_scope(scope_shown),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tenant_gets_tokens_for_its_own_graph_only() {
        for cloud in SimCloud::ALL {
            assert_eq!(check_resource(cloud, cloud.graph_resource()), Ok(()));
            assert_eq!(check_resource(cloud, &format!("{}/", cloud.graph_resource().to_uppercase())), Ok(()));
            assert_eq!(check_resource(cloud, "https://vault.azure.net"), Err(None));
        }
        assert_eq!(check_resource(SimCloud::Global, "https://graph.microsoft.us"), Err(Some(SimCloud::Global)));
        assert_eq!(
            check_resource(SimCloud::China, "https://dod-graph.microsoft.us/"),
            Err(Some(SimCloud::China)),
            "another login host: the tenant is redirected to its own cloud"
        );
        assert_eq!(check_resource(SimCloud::Usgov, "https://dod-graph.microsoft.us"), Err(None), "same login host");
        assert_eq!(check_resource(SimCloud::UsgovDod, "https://graph.microsoft.us"), Err(None));
        assert_eq!(check_resource(SimCloud::Global, "https://graph.microsoft.com.evil.example"), Err(None));
    }
}
