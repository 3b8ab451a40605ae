//! End-to-end tests: start the simulator and talk to it over real HTTP with a plain client.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;

pub(super) const V1: &str = "/v1.0/reports/authenticationMethods/userRegistrationDetails";

pub(super) fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub(super) fn relaxed(users: usize) -> SimulatorConfig {
    let mut c = SimulatorConfig::single(users, 1);
    c.quota_requests = 100_000;
    c
}

pub(super) fn client() -> reqwest::Client {
    // reqwest is built without a TLS provider; it insists on one even for plain http.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: reqwest::header::HeaderMap,
    pub(super) text: String,
}

impl Answer {
    pub(super) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub(super) async fn send(req: reqwest::RequestBuilder) -> Answer {
    let r = req.send().await.expect("send");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    Answer { status, headers, text }
}

pub(super) fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

pub(super) async fn token_request(c: &reqwest::Client, sim: &RunningSimulator, tenant: &str, body: String) -> Answer {
    send(
        c.post(format!("{}/{tenant}/oauth2/v2.0/token", sim.base_url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body),
    )
    .await
}

pub(super) fn creds(client_id: &str, secret: &str) -> String {
    form(&[
        ("client_id", client_id),
        ("scope", "https://graph.microsoft.com/.default"),
        ("client_secret", secret),
        ("grant_type", "client_credentials"),
    ])
}

pub(super) async fn token(c: &reqwest::Client, sim: &RunningSimulator) -> String {
    let a = token_request(c, sim, DEMO_TENANT_ID, creds(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()["access_token"].as_str().unwrap().to_owned()
}

pub(super) async fn get(c: &reqwest::Client, url: &str, token: &str) -> Answer {
    send(c.get(url).bearer_auth(token)).await
}

pub(super) fn error_code(a: &Answer) -> String {
    a.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn refuses_non_loopback_and_empty_configs() {
    let e = start(relaxed(1), "0.0.0.0:0".parse().unwrap()).await.unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    let empty = SimulatorConfig::default();
    assert!(start(empty, loopback()).await.is_err());
    let sim = start(relaxed(1), "[::1]:0".parse().unwrap()).await;
    if let Ok(sim) = sim {
        assert!(sim.base_url().starts_with("http://[::1]:"));
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn token_endpoint_success_and_entra_errors() {
    let sim = start(relaxed(10), loopback()).await.unwrap();
    let c = client();
    let ok = token_request(&c, &sim, DEMO_TENANT_ID, creds(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)).await;
    assert_eq!(ok.status, 200);
    let j = ok.json();
    assert_eq!(j["token_type"], "Bearer");
    assert_eq!(j["expires_in"], 3599);
    assert_eq!(j["ext_expires_in"], 3599);
    assert!(j["access_token"].as_str().unwrap().len() >= 32);

    let check = |a: &Answer, status: u16, error: &str, code: u64| {
        assert_eq!(a.status, status, "{}", a.text);
        let j = a.json();
        assert_eq!(j["error"], error, "{}", a.text);
        assert_eq!(j["error_codes"][0], code);
        let d = j["error_description"].as_str().unwrap();
        assert!(d.starts_with(&format!("AADSTS{code}: ")), "{d}");
        assert!(d.contains("\r\nTrace ID: ") && d.contains("\r\nCorrelation ID: ") && d.contains("\r\nTimestamp: "));
        for k in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
            assert!(j[k].is_string(), "{k}");
        }
    };
    let wrong_secret = "definitely-wrong-Secret~123";
    let a = token_request(&c, &sim, DEMO_TENANT_ID, creds(DEMO_CLIENT_ID, wrong_secret)).await;
    check(&a, 401, "invalid_client", 7000215);
    assert!(!a.text.contains(wrong_secret) && !a.text.contains(DEMO_CLIENT_SECRET));
    let a = token_request(&c, &sim, "00000000-0000-0000-0000-000000000000", creds(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET))
        .await;
    check(&a, 400, "invalid_tenant", 90002);
    assert!(!a.text.contains(DEMO_CLIENT_SECRET));
    let a = token_request(&c, &sim, DEMO_TENANT_ID, creds("11111111-1111-1111-1111-111111111111", DEMO_CLIENT_SECRET))
        .await;
    check(&a, 400, "unauthorized_client", 700016);
    let body = form(&[
        ("client_id", DEMO_CLIENT_ID),
        ("scope", "https://graph.microsoft.com/AuditLog.Read.All"),
        ("client_secret", DEMO_CLIENT_SECRET),
        ("grant_type", "client_credentials"),
    ]);
    check(&token_request(&c, &sim, DEMO_TENANT_ID, body).await, 400, "invalid_scope", 70011);
    let body = form(&[("client_id", DEMO_CLIENT_ID), ("scope", "x/.default"), ("grant_type", "password")]);
    check(&token_request(&c, &sim, DEMO_TENANT_ID, body).await, 400, "unsupported_grant_type", 70003);
    let body = form(&[("client_id", DEMO_CLIENT_ID), ("scope", "x/.default"), ("grant_type", "client_credentials")]);
    check(&token_request(&c, &sim, DEMO_TENANT_ID, body).await, 401, "invalid_client", 7000218);
    check(&token_request(&c, &sim, DEMO_TENANT_ID, "garbage&&==%%".into()).await, 400, "invalid_request", 900144);
    // JSON instead of a form: no parameters at all.
    let a = send(
        c.post(format!("{}/{DEMO_TENANT_ID}/oauth2/v2.0/token", sim.base_url()))
            .header("content-type", "application/json")
            .body(r#"{"grant_type":"client_credentials"}"#),
    )
    .await;
    check(&a, 400, "invalid_request", 900144);
    let a = send(c.get(format!("{}/{DEMO_TENANT_ID}/oauth2/v2.0/token", sim.base_url()))).await;
    check(&a, 405, "invalid_request", 900561);

    // HTTP Basic client authentication: base64("id:secret").
    let basic = {
        let raw = format!("{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}");
        let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in raw.as_bytes().chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(table[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    };
    let a = send(
        c.post(format!("{}/{DEMO_TENANT_ID}/oauth2/v2.0/token", sim.base_url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", format!("Basic {basic}"))
            .body(form(&[("scope", "https://graph.microsoft.com/.default"), ("grant_type", "client_credentials")])),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);

    sim.push_fault(Fault::TokenFailure { count: 1, error: TokenError::ExpiredSecret });
    let a = token_request(&c, &sim, DEMO_TENANT_ID, creds(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)).await;
    check(&a, 401, "invalid_client", 7000222);
    sim.push_fault(Fault::TokenFailure { count: 1, error: TokenError::ServerError });
    let a = token_request(&c, &sim, DEMO_TENANT_ID, creds(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)).await;
    assert_eq!(a.status, 500);
    assert_eq!(sim.pending_faults(), 0);
    let s = sim.stats();
    assert_eq!(s.token_requests_ok, 2);
    assert_eq!(s.token_requests_failed, 11);
    sim.shutdown().await;
}

/// Entra's error body, exactly (Microsoft identity platform, "Microsoft Entra authentication and authorization error
/// codes" (<https://learn.microsoft.com/entra/identity-platform/reference-error-codes>)): the seven keys, the
/// description's AADSTS prefix and trace lines agreeing with the fields. Returns the description's first line.
pub(super) fn assert_entra_error(a: &Answer, status: u16, error: &str, code: u64) -> String {
    assert_eq!(a.status, status, "{}", a.text);
    let j = a.json();
    let keys: HashSet<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    let want: HashSet<&str> =
        ["error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"].into();
    assert_eq!(keys, want, "{}", a.text);
    assert_eq!(j["error"], error, "{}", a.text);
    assert_eq!(j["error_codes"], serde_json::json!([code]));
    assert_eq!(j["error_uri"], format!("https://login.microsoftonline.com/error?code={code}"));
    let d = j["error_description"].as_str().unwrap();
    let lines: Vec<&str> = d.split("\r\n").collect();
    assert_eq!(lines.len(), 4, "{d}");
    assert!(lines[0].starts_with(&format!("AADSTS{code}: ")), "{d}");
    assert_eq!(lines[1], format!("Trace ID: {}", j["trace_id"].as_str().unwrap()));
    assert_eq!(lines[2], format!("Correlation ID: {}", j["correlation_id"].as_str().unwrap()));
    assert_eq!(lines[3], format!("Timestamp: {}", j["timestamp"].as_str().unwrap()));
    lines[0].to_owned()
}

#[tokio::test]
async fn tokens_are_issued_for_the_graph_of_the_tenants_cloud_only() {
    let mut cfg = relaxed(10);
    let template = cfg.tenants[0].clone();
    let ids = ["c1000000-0000-4000-8000-000000000001", "c1000000-0000-4000-8000-000000000002"];
    let ids = [DEMO_TENANT_ID, ids[0], ids[1], "contoso.partner.onmschina.cn"];
    cfg.tenants = SimCloud::ALL
        .into_iter()
        .zip(ids)
        .map(|(cloud, id)| SimTenantConfig { tenant_id: id.into(), cloud, ..template.clone() })
        .collect();
    let sim = start(cfg, loopback()).await.unwrap();
    let c = client();
    let request = |tenant: &'static str, scope: &str| {
        let body = form(&[
            ("client_id", DEMO_CLIENT_ID),
            ("scope", scope),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("grant_type", "client_credentials"),
        ]);
        token_request(&c, &sim, tenant, body)
    };
    for (cloud, tenant) in SimCloud::ALL.into_iter().zip(ids) {
        let a = request(tenant, &cloud.default_scope()).await;
        assert_eq!(a.status, 200, "{cloud:?}: {}", a.text);
        // A token of any cloud opens the simulator's (single) Graph for its tenant.
        let r = get(&c, &format!("{}{V1}", sim.base_url()), a.json()["access_token"].as_str().unwrap()).await;
        assert_eq!(r.status, 200, "{cloud:?}: {}", r.text);
    }
    let scopes = sim.stats().token_scopes;
    let want: BTreeMap<String, u64> = SimCloud::ALL.iter().map(|c| (c.default_scope(), 1)).collect();
    assert_eq!(scopes, want);

    // The usual mistake: a national-cloud tenant with the global defaults, or the reverse. The login
    // host of the scope's cloud does not know the tenant and redirects to the tenant's cloud.
    let cases = [
        (ids[1], "https://graph.microsoft.com/.default", "microsoftonline.us"),
        (ids[3], "https://graph.microsoft.com/.default", "partner.microsoftonline.cn"),
        (DEMO_TENANT_ID, "https://graph.microsoft.us/.default", "MicrosoftOnline.COM"),
        (ids[2], "https://microsoftgraph.chinacloudapi.cn/.default", "microsoftonline.us"),
    ];
    for (tenant, scope, home) in cases {
        let line = assert_entra_error(&request(tenant, scope).await, 400, "invalid_request", 90038);
        assert_eq!(
            line,
            format!("AADSTS90038: Tenant '{tenant}' request is being redirected to the National Cloud '{home}'.")
        );
    }
    // Refused before the credentials are looked at, as the tenant is unknown to that login host.
    let body = form(&[
        ("client_id", DEMO_CLIENT_ID),
        ("scope", "https://graph.microsoft.com/.default"),
        ("client_secret", "wrong"),
        ("grant_type", "client_credentials"),
    ]);
    assert_entra_error(&token_request(&c, &sim, ids[1], body).await, 400, "invalid_request", 90038);
    // L4 and L5 share a login host: the other Graph is merely an invalid scope, as is any non-Graph resource.
    for (tenant, scope) in [
        (ids[1], "https://dod-graph.microsoft.us/.default"),
        (ids[2], "https://graph.microsoft.us/.default"),
        (DEMO_TENANT_ID, "https://vault.azure.net/.default"),
        (DEMO_TENANT_ID, "https://graph.microsoft.com.evil.example/.default"),
        (DEMO_TENANT_ID, "https://graph.microsoft.com/.default https://graph.microsoft.us/.default"),
    ] {
        let line = assert_entra_error(&request(tenant, scope).await, 400, "invalid_scope", 70011);
        assert_eq!(
            line,
            format!(
                "AADSTS70011: The provided value for the input parameter 'scope' isn't valid. The scope {scope} isn't valid."
            )
        );
    }
    assert_eq!(sim.stats().token_scopes, want, "refusals are not counted");
    assert_eq!(sim.stats().token_requests_failed, 10);
    sim.shutdown().await;
}

#[tokio::test]
async fn paging_walks_every_listed_row_once() {
    let sim = start(relaxed(2_500), loopback()).await.unwrap();
    let c = client();
    let t = token(&c, &sim).await;
    let pop = sim.population(DEMO_TENANT_ID);
    let expected: Vec<String> = pop.listed().map(|u| u.id.clone()).collect();
    assert!(expected.len() < 2_500 && expected.len() > 2_000);

    let mut url = format!("{}{V1}", sim.base_url());
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let a = send(c.get(&url).bearer_auth(&t).header("client-request-id", "my-corr-id")).await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(
            a.header("content-type"),
            Some("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
        );
        assert_eq!(a.header("odata-version"), Some("4.0"));
        assert_eq!(a.header("client-request-id"), Some("my-corr-id"));
        assert!(a.header("request-id").is_some() && a.header("date").is_some());
        assert!(a.header("x-ms-ags-diagnostic").unwrap().starts_with("{\"ServerInfo\""));
        let j = a.json();
        assert_eq!(
            j["@odata.context"],
            format!("{}/v1.0/$metadata#reports/authenticationMethods/userRegistrationDetails", sim.base_url())
        );
        let rows = j["value"].as_array().unwrap();
        assert!(rows.len() <= 1000);
        ids.extend(rows.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        pages += 1;
        match j["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&format!("{}{V1}?$skiptoken=", sim.base_url())), "{next}");
                let tok = next.rsplit("$skiptoken=").next().unwrap();
                let (hash, off) = tok.split_once('_').unwrap();
                assert_eq!(hash.len(), 64);
                assert!(off.parse::<usize>().is_ok());
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(ids, expected);
    let s = sim.stats();
    assert_eq!(s.pages_served, 3);
    assert_eq!(s.rows_served as usize, expected.len());
    assert_eq!(s.requests_to("userRegistrationDetails"), 3);
    assert_eq!(s.graph_requests["v1.0/userRegistrationDetails"], 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn filter_select_orderby_and_beta_rows() {
    let sim = start(relaxed(3_000), loopback()).await.unwrap();
    let c = client();
    let t = token(&c, &sim).await;
    let pop = sim.population(DEMO_TENANT_ID);
    let want: Vec<&SimUser> = pop
        .listed()
        .filter(|u| u.is_admin == Some(true) && u.methods_registered.iter().any(|m| m == "mobilePhone" || m == "email"))
        .collect();
    assert!(!want.is_empty());
    let filter = "isAdmin%20eq%20true%20and%20(methodsRegistered/any(m:m%20eq%20'mobilePhone')%20or%20methodsRegistered/any(m:m%20eq%20'email'))";
    let mut url = format!("{}{V1}?$filter={filter}&$select=userPrincipalName,isAdmin&$top=7", sim.base_url());
    let mut got = Vec::new();
    loop {
        let a = get(&c, &url, &t).await;
        assert_eq!(a.status, 200, "{}", a.text);
        let j = a.json();
        assert!(
            j["@odata.context"].as_str().unwrap().ends_with("userRegistrationDetails(id,userPrincipalName,isAdmin)")
        );
        for r in j["value"].as_array().unwrap() {
            let keys: HashSet<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, HashSet::from(["id", "userPrincipalName", "isAdmin"]));
            got.push(r["id"].as_str().unwrap().to_owned());
        }
        match j["@odata.nextLink"].as_str() {
            Some(n) => {
                assert!(
                    n.contains("$top=7") && n.contains("$select=userPrincipalName,isAdmin") && n.contains("$filter=")
                );
                url = n.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(got, want.iter().map(|u| u.id.clone()).collect::<Vec<_>>());

    // $orderby across pages.
    let mut url = format!("{}{V1}?$orderby=userDisplayName%20desc&$select=userDisplayName&$top=1000", sim.base_url());
    let mut names = Vec::new();
    loop {
        let j = get(&c, &url, &t).await.json();
        names.extend(
            j["value"].as_array().unwrap().iter().map(|r| r["userDisplayName"].as_str().unwrap().to_lowercase()),
        );
        match j["@odata.nextLink"].as_str() {
            Some(n) => url = n.to_owned(),
            None => break,
        }
    }
    assert_eq!(names.len(), pop.listed_count());
    assert!(names.windows(2).all(|w| w[0] >= w[1]));

    // Beta adds defaultMfaMethod; some rows carry the unknown futureProperty.
    let a =
        get(&c, &format!("{}/beta/reports/authenticationMethods/userRegistrationDetails", sim.base_url()), &t).await;
    let j = a.json();
    let rows = j["value"].as_array().unwrap();
    assert!(rows.iter().all(|r| r.get("defaultMfaMethod").is_some()));
    assert!(rows.iter().any(|r| r.get("futureProperty").is_some()));
    assert!(j["@odata.context"].as_str().unwrap().contains("/beta/$metadata#"));
    sim.shutdown().await;
}

#[tokio::test]
async fn graph_errors() {
    let mut cfg = relaxed(50);
    cfg.tenants.push(SimTenantConfig {
        tenant_id: "aaaaaaaa-0000-4000-8000-000000000002".into(),
        client_id: "bbbbbbbb-0000-4000-8000-000000000002".into(),
        client_secret: "other-secret".into(),
        users: 10,
        seed: 2,
        licensed: true,
        app_roles: vec!["Directory.Read.All".into()],
        cloud: SimCloud::Global,
    });
    let sim = start(cfg, loopback()).await.unwrap();
    let c = client();
    let t = token(&c, &sim).await;
    let base = sim.base_url();

    let a = send(c.get(format!("{base}{V1}"))).await;
    assert_eq!(a.status, 401);
    assert_eq!(error_code(&a), "InvalidAuthenticationToken");
    assert!(a.header("www-authenticate").unwrap().starts_with("Bearer realm=\"\""));
    assert_eq!(a.header("content-type"), Some("application/json"));
    let inner = &a.json()["error"]["innerError"];
    assert!(inner["date"].is_string() && inner["request-id"].is_string());
    assert_eq!(inner["request-id"], inner["client-request-id"]);
    assert_eq!(get(&c, &format!("{base}{V1}"), "garbage").await.status, 401);

    let bad = |q: &'static str| {
        let c = c.clone();
        let t = t.clone();
        let url = format!("{base}{V1}?{q}");
        async move {
            let a = get(&c, &url, &t).await;
            assert_eq!(a.status, 400, "{q}: {}", a.text);
            error_code(&a)
        }
    };
    assert_eq!(bad("$top=1001").await, "BadRequest");
    assert_eq!(bad("$top=ten").await, "BadRequest");
    assert_eq!(bad("$skip=5").await, "BadRequest");
    assert_eq!(bad("$select=nope").await, "BadRequest");
    assert_eq!(bad("$filter=isAdmin%20gt%20true").await, "BadRequest");
    assert_eq!(bad("$filter=((((").await, "BadRequest");
    assert_eq!(bad("$filter=systemPreferredAuthenticationMethods/any(m:m%20eq%20'oath')").await, "UnknownError");
    let other = make_skiptoken_for_test();
    assert_eq!(bad(other).await, "BadRequest");

    let a = get(&c, &format!("{base}/v1.0/reports/authenticationMethods/userEventsSummary"), &t).await;
    assert_eq!((a.status, error_code(&a)), (400, "BadRequest".to_owned()));
    assert_eq!(a.json()["error"]["message"], "Resource not found for the segment 'userEventsSummary'.");
    let a = send(c.post(format!("{base}{V1}")).bearer_auth(&t)).await;
    assert_eq!(a.status, 405);
    assert_eq!(send(c.get(format!("{base}/v2.0/reports"))).await.status, 400);
    assert_eq!(send(c.get(format!("{base}/"))).await.status, 404);

    // Single entity.
    let pop = sim.population(DEMO_TENANT_ID);
    let u = pop.listed().next().unwrap();
    let a = get(&c, &format!("{base}{V1}/{}", u.id), &t).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let j = a.json();
    assert_eq!(j["id"], u.id.as_str());
    assert!(j["@odata.context"].as_str().unwrap().ends_with("userRegistrationDetails/$entity"));
    let a = get(&c, &format!("{base}{V1}/not-a-user"), &t).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.json()["error"]["message"], "No record found for key: not-a-user");
    if let Some(d) = pop.users.iter().find(|u| !u.enabled) {
        assert_eq!(get(&c, &format!("{base}{V1}/{}", d.id), &t).await.status, 404);
    }

    // Licence and permission.
    sim.set_licensed(DEMO_TENANT_ID, false);
    let a = get(&c, &format!("{base}{V1}"), &t).await;
    assert_eq!(a.status, 403);
    assert_eq!(error_code(&a), "Authentication_RequestFromNonPremiumTenantOrB2CTenant");
    assert_eq!(a.json()["error"]["message"], "Tenant is not a B2C tenant and doesn't have premium license");
    sim.set_licensed(DEMO_TENANT_ID, true);
    let t2 = token_request(
        &c,
        &sim,
        "aaaaaaaa-0000-4000-8000-000000000002",
        creds("bbbbbbbb-0000-4000-8000-000000000002", "other-secret"),
    )
    .await;
    let t2 = t2.json()["access_token"].as_str().unwrap().to_owned();
    let a = get(&c, &format!("{base}{V1}"), &t2).await;
    assert_eq!(a.status, 403);
    assert_eq!(error_code(&a), "Authentication_MSGraphPermissionMissing");

    // Revocation.
    assert_eq!(get(&c, &format!("{base}{V1}?$top=1"), &t).await.status, 200);
    sim.revoke_tokens();
    let a = get(&c, &format!("{base}{V1}?$top=1"), &t).await;
    assert_eq!((a.status, error_code(&a)), (401, "InvalidAuthenticationToken".to_owned()));
    sim.shutdown().await;
}

/// A skiptoken that belongs to another query (different filter).
fn make_skiptoken_for_test() -> &'static str {
    let fp = query::fingerprint(DEMO_TENANT_ID, rows::ApiVersion::V1, "isAdmin eq true", "");
    Box::leak(format!("$skiptoken={}", query::make_skiptoken(&fp, 3)).into_boxed_str())
}

#[tokio::test]
async fn expired_tokens_get_401() {
    let mut cfg = relaxed(5);
    cfg.token_lifetime = Duration::from_millis(300);
    let sim = start(cfg, loopback()).await.unwrap();
    let c = client();
    let a = token_request(&c, &sim, DEMO_TENANT_ID, creds(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)).await;
    assert_eq!(a.json()["expires_in"], 0);
    let t = a.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(get(&c, &format!("{}{V1}", sim.base_url()), &t).await.status, 200);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let a = get(&c, &format!("{}{V1}", sim.base_url()), &t).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.json()["error"]["message"], "Access token has expired or is not yet valid.");
    sim.shutdown().await;
}

#[tokio::test]
async fn summaries_need_delegated_tokens() {
    let sim = start(relaxed(800), loopback()).await.unwrap();
    let c = client();
    let app = token(&c, &sim).await;
    let base = sim.base_url();
    let feature =
        "/reports/authenticationMethods/usersRegisteredByFeature(includedUserTypes='all',includedUserRoles='all')";
    let a = get(&c, &format!("{base}/v1.0{feature}"), &app).await;
    assert_eq!((a.status, error_code(&a)), (403, "Authorization_RequestDenied".to_owned()));

    let user = sim.issue_delegated_token(DEMO_TENANT_ID, &["AuditLog.Read.All"]);
    let pop = sim.population(DEMO_TENANT_ID);
    let a = get(&c, &format!("{base}/v1.0{feature}"), &user).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let j = a.json();
    assert_eq!(j["@odata.type"], "#microsoft.graph.userRegistrationFeatureSummary");
    assert_eq!(j["totalUserCount"], pop.listed_count());
    for path in [
        "/beta/reports/authenticationMethods/usersRegisteredByMethod()",
        "/v1.0/reports/authenticationMethods/microsoft.graph.usersRegisteredByMethod(includedUserTypes=%27member%27,includedUserRoles=%27admin%27)",
        "/v1.0/reports/authenticationMethods/usersRegisteredByFeature",
    ] {
        let a = get(&c, &format!("{base}{path}"), &user).await;
        assert_eq!(a.status, 200, "{path}: {}", a.text);
    }
    let a = get(
        &c,
        &format!("{base}/v1.0/reports/authenticationMethods/usersRegisteredByMethod(includedUserTypes='x')"),
        &user,
    )
    .await;
    assert_eq!(a.status, 400);
    let members_admin =
        pop.listed().filter(|u| u.user_type.as_deref() == Some("member") && u.is_admin == Some(true)).count();
    let a = get(&c, &format!("{base}/v1.0/reports/authenticationMethods/usersRegisteredByMethod(includedUserTypes='member',includedUserRoles='admin')"), &user).await;
    assert_eq!(a.json()["totalUserCount"], members_admin);
    assert_eq!(a.json()["userRoles"], "admin");
    let no_scope = sim.issue_delegated_token(DEMO_TENANT_ID, &["User.Read"]);
    let a = get(&c, &format!("{base}/v1.0{feature}"), &no_scope).await;
    assert_eq!(error_code(&a), "Authentication_MSGraphPermissionMissing");
    assert_eq!(sim.stats().requests_to("usersRegisteredByFeature"), 4);
    sim.shutdown().await;
}

#[tokio::test]
async fn quota_throttles_with_exact_retry_after() {
    let mut cfg = SimulatorConfig::single(20, 3);
    cfg.quota_requests = 2;
    cfg.quota_window = Duration::from_millis(800);
    let sim = start(cfg, loopback()).await.unwrap();
    let c = client();
    let t = token(&c, &sim).await;
    let url = format!("{}{V1}?$top=1", sim.base_url());
    assert_eq!(get(&c, &url, &t).await.status, 200);
    assert_eq!(get(&c, &url, &t).await.status, 200);
    let a = get(&c, &url, &t).await;
    assert_eq!(a.status, 429);
    let j = a.json();
    assert_eq!(j["error"]["code"], "TooManyRequests");
    assert_eq!(j["error"]["message"], "Please retry again later.");
    assert_eq!(j["error"]["innerError"]["status"], "429");
    let wait: f64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 0.0 && wait <= 0.8, "{wait}");
    tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    assert_eq!(get(&c, &url, &t).await.status, 200);
    // The token endpoint is not throttled.
    for _ in 0..5 {
        token(&c, &sim).await;
    }
    assert_eq!(sim.stats().throttled, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_faults() {
    let sim = start(relaxed(1_500), loopback()).await.unwrap();
    let c = client();
    let t = token(&c, &sim).await;
    let url = format!("{}{V1}", sim.base_url());

    sim.push_fault(Fault::Throttle { count: 2, retry_after: None });
    for _ in 0..2 {
        let a = get(&c, &url, &t).await;
        assert_eq!(a.status, 429);
        assert!(a.header("retry-after").is_none());
    }
    sim.push_fault(Fault::Throttle { count: 1, retry_after: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()) });
    assert_eq!(get(&c, &url, &t).await.header("retry-after"), Some("Wed, 21 Oct 2015 07:28:00 GMT"));
    // Injected 429s come before authentication.
    sim.push_fault(Fault::Throttle { count: 1, retry_after: Some("1".into()) });
    assert_eq!(send(c.get(&url)).await.status, 429);

    sim.push_fault(Fault::Status {
        count: 1,
        status: 503,
        code: "ServiceUnavailable".into(),
        message: "Try later".into(),
    });
    let a = get(&c, &url, &t).await;
    assert_eq!((a.status, error_code(&a)), (503, "ServiceUnavailable".to_owned()));

    sim.push_fault(Fault::MalformedJson);
    let a = get(&c, &url, &t).await;
    assert_eq!(a.status, 200);
    assert!(serde_json::from_str::<Value>(&a.text).is_err());

    sim.push_fault(Fault::RepeatNextLink);
    let first = format!("{url}?$top=5");
    let a = get(&c, &first, &t).await;
    assert_eq!(a.json()["@odata.nextLink"], first.as_str());

    sim.push_fault(Fault::EmptyPage);
    let a = get(&c, &first, &t).await;
    let j = a.json();
    assert_eq!(j["value"].as_array().unwrap().len(), 0);
    let next = j["@odata.nextLink"].as_str().unwrap().to_owned();
    let a = get(&c, &next, &t).await;
    let pop = sim.population(DEMO_TENANT_ID);
    let first_ids: Vec<&str> = pop.listed().take(5).map(|u| u.id.as_str()).collect();
    let got: Vec<String> =
        a.json()["value"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(got, first_ids);

    sim.push_fault(Fault::Slow(Duration::from_millis(300)));
    let started = Instant::now();
    assert_eq!(get(&c, &first, &t).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Transport-level faults, each on a fresh client so no pooled connection is reused.
    sim.push_fault(Fault::TruncatedBody);
    let fresh = client();
    let r = fresh.get(&url).bearer_auth(&t).send().await.expect("headers arrive");
    assert_eq!(r.status(), 200);
    assert!(r.content_length().unwrap() > 1000);
    assert!(r.bytes().await.is_err(), "the body must be cut");

    sim.push_fault(Fault::ResetConnection);
    let fresh = client();
    assert!(fresh.get(&url).bearer_auth(&t).send().await.is_err());
    // The simulator keeps serving afterwards.
    assert_eq!(get(&client(), &first, &t).await.status, 200);
    assert_eq!(sim.pending_faults(), 0);
    assert_eq!(sim.stats().throttled, 4);
    sim.shutdown().await;
}

#[tokio::test]
async fn drift_and_population_switches() {
    let sim = start(relaxed(2_000), loopback()).await.unwrap();
    let before = sim.population(DEMO_TENANT_ID);
    sim.drift(DEMO_TENANT_ID);
    let after = sim.population(DEMO_TENANT_ID);
    assert!(after.refreshed_at > before.refreshed_at);
    let mfa = |p: &Population| p.listed().filter(|u| u.is_mfa_registered).count();
    assert!(mfa(&after) > mfa(&before));
    // Same users as the pure generator, apart from timestamps.
    let pure = Population::generate(2_000, 1);
    assert_eq!(pure.users[0].id, before.users[0].id);
    assert_eq!(pure.users[0].methods_registered, before.users[0].methods_registered);

    let mut p = Population::clone(&before);
    p.users.truncate(3);
    for u in &mut p.users {
        u.enabled = true;
    }
    sim.set_population(DEMO_TENANT_ID, p);
    let c = client();
    let t = token(&c, &sim).await;
    let a = get(&c, &format!("{}{V1}", sim.base_url()), &t).await;
    assert_eq!(a.json()["value"].as_array().unwrap().len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn hostile_input_never_breaks_the_server() {
    let sim = start(relaxed(300), loopback()).await.unwrap();
    let c = client();
    let t = token(&c, &sim).await;
    let base = sim.base_url();
    let long = "a".repeat(20_000);
    let queries = [
        "$top=".to_owned(),
        "$top=18446744073709551616".to_owned(),
        "$top=%FF%FE".to_owned(),
        "$select=,,,".to_owned(),
        "$select=%00".to_owned(),
        "$orderby=".to_owned(),
        "$orderby=userPrincipalName%20sideways".to_owned(),
        "$filter=".to_owned(),
        "$filter=%27".to_owned(),
        "$filter=startswith(".to_owned(),
        "$filter=methodsRegistered/any(".to_owned(),
        "$filter=methodsRegistered/any(x:".to_owned(),
        "$filter=not".to_owned(),
        format!("$filter={long}"),
        format!("$filter={}", "(".repeat(5_000)),
        "$skiptoken=".to_owned(),
        "$skiptoken=_".to_owned(),
        "$skiptoken=%E2%82%AC_1".to_owned(),
        "$=1&=&&&$$=2".to_owned(),
        "%".to_owned(),
        "$count=true".to_owned(),
    ];
    for q in &queries {
        let a = get(&c, &format!("{base}{V1}?{q}"), &t).await;
        assert!(a.status == 200 || a.status == 400, "{q}: {} {}", a.status, a.text);
        if a.status == 400 {
            assert_eq!(a.json()["error"]["code"], "BadRequest", "{q}");
        }
    }
    let paths = [
        "/v1.0/reports/authenticationMethods/userRegistrationDetails/%FF%FE",
        "/v1.0/reports/authenticationMethods/userRegistrationDetails//x",
        "/v1.0/reports/authenticationMethods/usersRegisteredByFeature(((",
        "/v1.0/reports/authenticationMethods/usersRegisteredByFeature(includedUserTypes=%27",
        "/v1.0/reports/authenticationMethods/microsoft.graph.",
        "/v1.0/reports/authenticationMethods/usersRegisteredByFeature()/more",
        "/v1.0/reports",
        "/v1.0",
        "/beta/",
        "/%F0%9F%92%A9/oauth2/v2.0/token",
        "/x/oauth2/v2.0/token",
    ];
    for p in paths {
        let a = get(&c, &format!("{base}{p}"), &t).await;
        assert!((400..500).contains(&a.status), "{p}: {} {}", a.status, a.text);
        let _ = a.json();
    }
    for auth in ["Bearer", "Bearer \u{7f}", "Basic Og==", "Bearer a b c", "garbage"] {
        if let Ok(v) = reqwest::header::HeaderValue::from_str(auth) {
            let a = send(c.get(format!("{base}{V1}")).header("authorization", v)).await;
            assert_eq!(a.status, 401, "{auth}");
        }
    }
    for body in [vec![0xFFu8, 0xFE, 0x00], b"a=%ZZ&&&=&grant_type".to_vec(), vec![b'x'; 100_000]] {
        let a = send(
            c.post(format!("{base}/{DEMO_TENANT_ID}/oauth2/v2.0/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", "Basic !!!!")
                .body(body),
        )
        .await;
        assert_eq!(a.status, 400, "{}", a.text);
    }
    // Still healthy.
    assert_eq!(get(&c, &format!("{base}{V1}?$top=1"), &t).await.status, 200);
    sim.shutdown().await;
}
