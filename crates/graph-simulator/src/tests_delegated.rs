//! End-to-end tests of the delegated flows: device code and refresh tokens.

use std::time::Duration;

use super::tests::{Answer, client, error_code, form, get, loopback, relaxed, send, token_request};
use super::*;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const SCOPE: &str =
    "https://graph.microsoft.com/AuditLog.Read.All https://graph.microsoft.com/Reports.Read.All offline_access";

fn config() -> SimulatorConfig {
    let mut c = relaxed(300);
    c.device_code_interval = Duration::from_millis(300);
    c
}

async fn device_code(c: &reqwest::Client, sim: &RunningSimulator, scope: &str) -> Answer {
    send(
        c.post(format!("{}/{DEMO_TENANT_ID}/oauth2/v2.0/devicecode", sim.base_url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("client_id", DEMO_CLIENT_ID), ("scope", scope)])),
    )
    .await
}

async fn poll(c: &reqwest::Client, sim: &RunningSimulator, code: &str) -> Answer {
    let body = form(&[("grant_type", DEVICE_GRANT), ("client_id", DEMO_CLIENT_ID), ("device_code", code)]);
    token_request(c, sim, DEMO_TENANT_ID, body).await
}

async fn refresh(c: &reqwest::Client, sim: &RunningSimulator, rt: &str) -> Answer {
    let body = form(&[
        ("grant_type", "refresh_token"),
        ("client_id", DEMO_CLIENT_ID),
        ("refresh_token", rt),
        ("scope", "https://graph.microsoft.com/.default offline_access"),
    ]);
    token_request(c, sim, DEMO_TENANT_ID, body).await
}

fn oauth_error(a: &Answer, status: u16, error: &str, code: u64) {
    assert_eq!(a.status, status, "{}", a.text);
    let j = a.json();
    assert_eq!(j["error"], error, "{}", a.text);
    assert_eq!(j["error_codes"][0], code, "{}", a.text);
    let d = j["error_description"].as_str().unwrap();
    assert!(d.starts_with(&format!("AADSTS{code}: ")) && d.contains("\r\nTrace ID: "), "{d}");
    for k in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
        assert!(j[k].is_string(), "{k}");
    }
}

#[tokio::test]
async fn device_code_flow_end_to_end() {
    let sim = start(config(), loopback()).await.unwrap();
    let c = client();
    let a = device_code(&c, &sim, SCOPE).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let j = a.json();
    let code = j["device_code"].as_str().unwrap().to_owned();
    let user_code = j["user_code"].as_str().unwrap().to_owned();
    // The simulator's own verification page, on the address the client used (the real one is
    // https://microsoft.com/devicelogin, which cannot approve a simulated code).
    assert_eq!(j["verification_uri"], format!("{}/devicelogin", sim.base_url()));
    assert_eq!(j["expires_in"], 900);
    assert_eq!(j["interval"], 1);
    assert!(j["message"].as_str().unwrap().contains(&user_code));

    oauth_error(&poll(&c, &sim, &code).await, 400, "authorization_pending", 70016);
    // Polled again at once: slow down.
    oauth_error(&poll(&c, &sim, &code).await, 400, "slow_down", 70016);
    oauth_error(&poll(&c, &sim, "not-a-device-code").await, 400, "bad_verification_code", 70018);
    assert!(sim.approve_device_code(&user_code.to_lowercase()));
    assert!(!sim.approve_device_code("NOPE12345"));
    let a = poll(&c, &sim, &code).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let j = a.json();
    assert_eq!(j["token_type"], "Bearer");
    assert_eq!(j["scope"], "AuditLog.Read.All Reports.Read.All");
    assert_eq!(j["expires_in"], 3599);
    let access = j["access_token"].as_str().unwrap().to_owned();
    let rt = j["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(sim.last_refresh_token(DEMO_TENANT_ID).as_deref(), Some(rt.as_str()));
    // Redeemed codes are gone.
    oauth_error(&poll(&c, &sim, &code).await, 400, "bad_verification_code", 70018);

    // The delegated token works on a delegated-only route (the user is a Reports Reader).
    let url = format!(
        "{}/v1.0/reports/authenticationMethods/usersRegisteredByMethod(includedUserTypes='all',includedUserRoles='all')",
        sim.base_url()
    );
    assert_eq!(get(&c, &url, &access).await.status, 200);
    let legacy = format!("{}/beta/reports/getCredentialUserRegistrationCount", sim.base_url());
    assert_eq!(get(&c, &legacy, &access).await.status, 200);
    // …but lacks the directory scope it did not ask for.
    let a = get(&c, &format!("{}/v1.0/directoryRoles", sim.base_url()), &access).await;
    assert_eq!((a.status, error_code(&a)), (403, "Authorization_RequestDenied".to_owned()));

    // Declined and expired codes.
    let j = device_code(&c, &sim, SCOPE).await.json();
    assert!(sim.decline_device_code(j["user_code"].as_str().unwrap()));
    oauth_error(&poll(&c, &sim, j["device_code"].as_str().unwrap()).await, 400, "authorization_declined", 65004);
    let j = device_code(&c, &sim, SCOPE).await.json();
    sim.expire_device_codes();
    oauth_error(&poll(&c, &sim, j["device_code"].as_str().unwrap()).await, 400, "expired_token", 70019);
    assert!(!sim.approve_device_code(j["user_code"].as_str().unwrap()));

    // Without offline_access no refresh token; a user without a reports role is refused by reports.
    let j = device_code(&c, &sim, "https://graph.microsoft.com/.default").await.json();
    assert!(
        sim.approve_device_code_with_roles(j["user_code"].as_str().unwrap(), vec!["Helpdesk Administrator".into()])
    );
    let a = poll(&c, &sim, j["device_code"].as_str().unwrap()).await;
    let t = a.json();
    assert!(t.get("refresh_token").is_none(), "{}", a.text);
    let a = get(&c, &url, t["access_token"].as_str().unwrap()).await;
    assert_eq!(error_code(&a), "Authentication_RequestFromUnsupportedUserRole");
    let a = get(&c, &format!("{}/v1.0/directoryRoles", sim.base_url()), t["access_token"].as_str().unwrap()).await;
    assert_eq!(a.status, 200, ".default includes the consented RoleManagement.Read.Directory");

    // Errors of the devicecode endpoint itself.
    oauth_error(&device_code(&c, &sim, "").await, 400, "invalid_request", 900144);
    oauth_error(&device_code(&c, &sim, "bad%scope").await, 400, "invalid_scope", 70011);
    let a = send(
        c.post(format!("{}/00000000-0000-0000-0000-000000000000/oauth2/v2.0/devicecode", sim.base_url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("client_id", DEMO_CLIENT_ID), ("scope", SCOPE)])),
    )
    .await;
    oauth_error(&a, 400, "invalid_tenant", 90002);
    let s = sim.stats();
    assert_eq!(s.device_code_requests, 4);
    assert_eq!(s.device_code_grants, 2);
    assert!(s.device_code_polls >= 8);
    let _ = rt;
    sim.shutdown().await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_can_be_revoked_or_expire() {
    let mut cfg = config();
    cfg.refresh_token_lifetime = Duration::from_millis(800);
    let sim = start(cfg, loopback()).await.unwrap();
    let c = client();
    let rt0 = sim.issue_refresh_token(DEMO_TENANT_ID);
    assert_eq!(sim.last_refresh_token(DEMO_TENANT_ID).as_deref(), Some(rt0.as_str()));

    let a = refresh(&c, &sim, &rt0).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let j = a.json();
    let rt1 = j["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt0, "rotated");
    assert_eq!(sim.last_refresh_token(DEMO_TENANT_ID).as_deref(), Some(rt1.as_str()));
    for k in ["scope", "expires_in", "token_type", "access_token"] {
        assert!(!j[k].is_null(), "{k}");
    }
    assert!(j["scope"].as_str().unwrap().contains("AuditLog.Read.All"));
    let access = j["access_token"].as_str().unwrap();
    let events = format!("{}/beta/reports/authenticationMethods/userEventsSummary?$top=1", sim.base_url());
    assert_eq!(get(&c, &events, access).await.status, 200);
    // Like Entra, the previous refresh token keeps working until it expires or is revoked.
    assert_eq!(refresh(&c, &sim, &rt0).await.status, 200);
    // Unknown, foreign or missing refresh tokens.
    oauth_error(&refresh(&c, &sim, "garbage").await, 400, "invalid_grant", 9002313);
    let body = form(&[("grant_type", "refresh_token"), ("client_id", DEMO_CLIENT_ID)]);
    oauth_error(&token_request(&c, &sim, DEMO_TENANT_ID, body).await, 400, "invalid_request", 900144);
    let body = form(&[
        ("grant_type", "refresh_token"),
        ("client_id", "11111111-1111-1111-1111-111111111111"),
        ("refresh_token", &rt1),
    ]);
    oauth_error(&token_request(&c, &sim, DEMO_TENANT_ID, body).await, 400, "unauthorized_client", 700016);
    let body = form(&[
        ("grant_type", "refresh_token"),
        ("client_id", DEMO_CLIENT_ID),
        ("client_secret", "wrong-secret"),
        ("refresh_token", &rt1),
    ]);
    let a = token_request(&c, &sim, DEMO_TENANT_ID, body).await;
    oauth_error(&a, 401, "invalid_client", 7000215);
    assert!(!a.text.contains(&rt1) && !a.text.contains("wrong-secret"), "secrets are never echoed");

    sim.revoke_refresh_tokens();
    let a = refresh(&c, &sim, &rt1).await;
    oauth_error(&a, 400, "invalid_grant", 50173);
    assert!(!a.text.contains(&rt1));
    // Tokens issued after the revocation work; then they expire.
    let rt2 = sim.issue_refresh_token(DEMO_TENANT_ID);
    assert_eq!(refresh(&c, &sim, &rt2).await.status, 200);
    tokio::time::sleep(Duration::from_millis(850)).await;
    oauth_error(&refresh(&c, &sim, &rt2).await, 400, "invalid_grant", 700082);
    let s = sim.stats();
    assert_eq!(s.refresh_token_grants, 3);
    assert!(s.token_requests_failed >= 6);
    sim.shutdown().await;
}
