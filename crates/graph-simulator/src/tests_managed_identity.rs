//! End-to-end tests of the managed-identity endpoints (IMDS and App Service) over real HTTP.

use serde_json::Value;

use super::tests::{Answer, V1, assert_entra_error, client, error_code, get, loopback, relaxed, send};
use super::*;

const GRAPH: &str = "https://graph.microsoft.com/";

async fn imds(c: &reqwest::Client, sim: &RunningSimulator, query: &str, metadata: Option<&str>) -> Answer {
    let mut req = c.get(format!("{}{IMDS_TOKEN_PATH}?{query}", sim.base_url()));
    if let Some(m) = metadata {
        req = req.header("Metadata", m);
    }
    send(req).await
}

fn graph_query(extra: &str) -> String {
    format!("api-version=2018-02-01&resource=https%3A%2F%2Fgraph.microsoft.com%2F{extra}")
}

#[tokio::test]
async fn imds_requires_the_metadata_header_and_answers_strings() {
    let sim = start(relaxed(30), loopback()).await.unwrap();
    let c = client();
    for header in [None, Some("false")] {
        let a = imds(&c, &sim, &graph_query(""), header).await;
        assert_eq!(a.status, 400);
        assert_eq!(
            a.json(),
            serde_json::json!({"error": "bad_request_102", "error_description": "Required metadata header not specified"})
        );
    }
    let a = imds(&c, &sim, &graph_query(""), Some("true")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let j = a.json();
    for field in ["access_token", "expires_in", "expires_on", "not_before", "resource", "token_type", "client_id"] {
        assert!(j[field].is_string(), "{field} is a string: {j}");
    }
    assert_eq!(j["resource"], GRAPH);
    assert_eq!(j["client_id"], DEMO_MANAGED_IDENTITY_CLIENT_ID, "no client_id: the system-assigned identity");
    let expires_in: u64 = j["expires_in"].as_str().unwrap().parse().unwrap();
    assert!(expires_in > 3000);
    // The token opens Graph for the identity's tenant.
    let token = j["access_token"].as_str().unwrap();
    let r = get(&c, &format!("{}{V1}", sim.base_url()), token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let seen = sim.last_managed_identity_request().unwrap();
    assert_eq!(seen.protocol, ManagedIdentityProtocol::Imds);
    assert_eq!((seen.api_version.as_str(), seen.requested_client_id), ("2018-02-01", None));
    sim.shutdown().await;
}

#[tokio::test]
async fn imds_selects_user_assigned_identities_by_client_id() {
    let mut cfg = relaxed(10);
    cfg.managed_identities.push(SimManagedIdentity {
        tenant_id: DEMO_TENANT_ID.into(),
        client_id: "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a".into(),
        system_assigned: false,
        app_roles: vec![],
    });
    let sim = start(cfg, loopback()).await.unwrap();
    let c = client();
    let a = imds(&c, &sim, &graph_query(&format!("&client_id={DEMO_USER_ASSIGNED_CLIENT_ID}")), Some("true")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["client_id"], DEMO_USER_ASSIGNED_CLIENT_ID);
    assert_eq!(sim.last_managed_identity_request().unwrap().client_id, DEMO_USER_ASSIGNED_CLIENT_ID);

    // An identity without application permissions gets a token that Graph refuses.
    let a = imds(&c, &sim, &graph_query("&client_id=0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a"), Some("true")).await;
    let token = a.json()["access_token"].as_str().unwrap().to_owned();
    let r = get(&c, &format!("{}{V1}", sim.base_url()), &token).await;
    assert_eq!((r.status, error_code(&r).as_str()), (403, "Authentication_MSGraphPermissionMissing"));

    let a = imds(&c, &sim, &graph_query("&client_id=11111111-1111-1111-1111-111111111111"), Some("true")).await;
    assert_eq!((a.status, a.json()["error_description"].as_str()), (400, Some("Identity not found")));
    sim.shutdown().await;
}

#[tokio::test]
async fn imds_checks_api_version_and_resource() {
    let sim = start(relaxed(10), loopback()).await.unwrap();
    let c = client();
    let cases = [
        ("resource=https%3A%2F%2Fgraph.microsoft.com%2F", "invalid_request"),
        ("api-version=2017-01-01&resource=https%3A%2F%2Fgraph.microsoft.com%2F", "invalid_request"),
        ("api-version=2018-02-01", "invalid_request"),
    ];
    for (query, code) in cases {
        let a = imds(&c, &sim, query, Some("true")).await;
        assert_eq!((a.status, a.json()["error"].as_str()), (400, Some(code)), "{query}: {}", a.text);
    }
    // A resource that is not the tenant's Graph: Entra's AADSTS50001, relayed in Entra's shape. The
    // global tenant's identity cannot get tokens for another cloud's Graph either.
    for resource in ["https://vault.azure.net", "https://graph.microsoft.us/"] {
        let query = format!("api-version=2018-02-01&resource={}", resource.replace(':', "%3A").replace('/', "%2F"));
        let a = imds(&c, &sim, &query, Some("true")).await;
        let line = assert_entra_error(&a, 400, "invalid_resource", 50001);
        assert_eq!(
            line,
            format!(
                "AADSTS50001: The application named {resource} was not found in the tenant named {DEMO_TENANT_ID}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            )
        );
    }
    // Without the trailing slash and on a later api-version, Graph is still Graph.
    let a = imds(&c, &sim, "api-version=2019-08-01&resource=https%3A%2F%2Fgraph.microsoft.com", Some("true")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = send(c.post(format!("{}{IMDS_TOKEN_PATH}?{}", sim.base_url(), graph_query(""))).header("Metadata", "true"))
        .await;
    assert_eq!(a.status, 405);
    sim.shutdown().await;
}

#[tokio::test]
async fn app_service_endpoint_requires_its_identity_header() {
    let sim = start(relaxed(10), loopback()).await.unwrap();
    let c = client();
    let url = format!(
        "{}{APP_SERVICE_TOKEN_PATH}?api-version=2019-08-01&resource=https%3A%2F%2Fgraph.microsoft.com",
        sim.base_url()
    );
    let a = send(c.get(&url)).await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(a.json()["statusCode"], 400);
    let a = send(c.get(&url).header("X-IDENTITY-HEADER", "wrong")).await;
    assert_eq!(a.status, 401);
    assert!(!a.text.contains(DEMO_IDENTITY_HEADER), "the secret is never echoed");
    let a = send(c.get(&url).header("X-IDENTITY-HEADER", DEMO_IDENTITY_HEADER)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let j: Value = a.json();
    assert!(j.get("expires_in").is_none(), "App Service answers expires_on only");
    let expires_on: u64 = j["expires_on"].as_str().unwrap().parse().unwrap();
    assert!(expires_on > 1_700_000_000);
    let r = get(&c, &format!("{}{V1}", sim.base_url()), j["access_token"].as_str().unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(sim.last_managed_identity_request().unwrap().protocol, ManagedIdentityProtocol::AppService);
    // The legacy protocol is not simulated.
    let legacy = url.replace("2019-08-01", "2017-09-01");
    assert_eq!(send(c.get(&legacy).header("X-IDENTITY-HEADER", DEMO_IDENTITY_HEADER)).await.status, 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_national_cloud_identity_gets_tokens_for_its_clouds_graph_only() {
    let mut cfg = relaxed(10);
    cfg.tenants[0].cloud = SimCloud::China;
    let sim = start(cfg, loopback()).await.unwrap();
    let c = client();
    let china = "https%3A%2F%2Fmicrosoftgraph.chinacloudapi.cn%2F";
    let a = imds(&c, &sim, &format!("api-version=2018-02-01&resource={china}"), Some("true")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["resource"], "https://microsoftgraph.chinacloudapi.cn/");
    assert_eq!(sim.last_managed_identity_request().unwrap().resource, "https://microsoftgraph.chinacloudapi.cn/");
    let a = imds(&c, &sim, &graph_query(""), Some("true")).await;
    assert_entra_error(&a, 400, "invalid_resource", 50001);
    // App Service wraps the same refusal in its own shape.
    let url = format!(
        "{}{APP_SERVICE_TOKEN_PATH}?api-version=2019-08-01&resource={}",
        sim.base_url(),
        "https%3A%2F%2Fgraph.microsoft.com"
    );
    let a = send(c.get(&url).header("X-IDENTITY-HEADER", DEMO_IDENTITY_HEADER)).await;
    assert_eq!((a.status, a.json()["statusCode"].as_u64()), (400, Some(400)), "{}", a.text);
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS50001: The application named https://graph.microsoft.com was not found")
    );
    assert_eq!(sim.stats().token_requests_failed, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn unavailable_fault_answers_the_status_then_recovers() {
    let sim = start(relaxed(10), loopback()).await.unwrap();
    let c = client();
    sim.push_fault(Fault::ManagedIdentityUnavailable { count: 2, status: 503 });
    for _ in 0..2 {
        let a = imds(&c, &sim, &graph_query(""), Some("true")).await;
        assert_eq!(a.status, 503);
        assert!(serde_json::from_str::<Value>(&a.text).is_err(), "plain text, not JSON");
    }
    assert_eq!(sim.pending_faults(), 0);
    assert_eq!(imds(&c, &sim, &graph_query(""), Some("true")).await.status, 200);
    let stats = sim.stats();
    assert_eq!((stats.token_requests_ok, stats.token_requests_failed), (1, 2));
    sim.shutdown().await;
}

#[tokio::test]
async fn identities_in_unknown_tenants_are_refused_at_start() {
    let mut cfg = relaxed(1);
    cfg.managed_identities[0].tenant_id = "99999999-9999-9999-9999-999999999999".into();
    assert_eq!(start(cfg, loopback()).await.unwrap_err().kind(), io::ErrorKind::InvalidInput);
}
