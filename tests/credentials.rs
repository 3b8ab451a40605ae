//! Certificate, workload-identity and managed-identity credentials end to end: the exporter signs
//! client assertions (or reads the projected token, or asks the simulated IMDS / App Service
//! endpoint) and the simulator verifies them for real over HTTP.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use common::truth;
use common::*;
use entra_authmethods_exporter::config::{self, AppCredential, Sources};
use entra_authmethods_exporter::preflight;
use graph_simulator::{
    self, APP_SERVICE_TOKEN_PATH, AssertionKind, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_IDENTITY_HEADER,
    DEMO_MANAGED_IDENTITY_CLIENT_ID, DEMO_TENANT_ID, DEMO_USER_ASSIGNED_CLIENT_ID, FEDERATED_AUDIENCE, Fault,
    IMDS_TOKEN_PATH, ManagedIdentityProtocol, RunningSimulator, SimulatorConfig,
};
use rcgen::{CertificateParams, KeyPair};

const REPORT: [(&str, &str); 2] = [("tenant", TENANT), ("report", "registration_details")];
const EXPIRY: &str = "entra_authmethods_client_certificate_expiry_timestamp_seconds";
const NOT_BEFORE: &str = "entra_authmethods_client_certificate_not_before_timestamp_seconds";
/// Short token lifetime so the next poll after a short sleep requests a new token.
const TOKEN_LIFETIME: Duration = Duration::from_secs(2);
/// The end of the message for a certificate or key that is not RSA.
const RSA_ONLY: &str =
    "Entra ID accepts only RSA certificates for client assertions; create an RSA key of at least 2048 bits";
/// The hint for AADSTS700027 (the certificate was refused).
const CERTIFICATE_HINT: &str = "Entra refused the certificate: upload this certificate (the public part) under the app registration's Certificates & secrets";

async fn sim() -> RunningSimulator {
    let mut cfg = SimulatorConfig::single(40, 7);
    cfg.quota_requests = 10_000;
    cfg.token_lifetime = TOKEN_LIFETIME;
    graph_simulator::start(cfg, loopback()).await.expect("simulator starts")
}

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/web").join(name)
}

/// A self-signed RSA certificate (PEM) valid between the two years, for the test-only RSA key
/// tests/testdata/credentials/rsa-pkcs8.key (PKCS#8; rcgen with ring cannot generate RSA keys), that
/// key's PEM, and the certificate's notBefore and notAfter.
fn rsa_cert(from_year: i32, to_year: i32, common_name: &str) -> (String, String, i64, i64) {
    let key_pem =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/credentials/rsa-pkcs8.key"))
            .unwrap();
    let key = KeyPair::from_pem(&key_pem).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
    params.not_before = rcgen::date_time_ymd(from_year, 1, 1);
    params.not_after = rcgen::date_time_ymd(to_year, 1, 1);
    let (not_before, not_after) = (params.not_before.unix_timestamp(), params.not_after.unix_timestamp());
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key_pem, not_before, not_after)
}

/// A self-signed ECDSA P-256 certificate and its PKCS#8 key (PEM): what Entra does not accept.
fn ec_cert() -> (String, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "entra-authmethods-exporter");
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// notBefore and notAfter of the first certificate in a PEM file.
fn pem_dates(path: &Path) -> (i64, i64) {
    let pem = std::fs::read(path).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let cert = pem.parse_x509().unwrap();
    (cert.validity().not_before.timestamp(), cert.validity().not_after.timestamp())
}

/// Writes `text` to `path` atomically, as a Kubernetes secret or cert-manager update does.
fn replace_file(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The common test config with the client secret replaced by `credential_lines`.
fn toml_with(sim: &RunningSimulator, credential_lines: &str) -> String {
    let toml = config_toml(sim, "", "");
    let secret_line = format!("client_secret = \"{DEMO_CLIENT_SECRET}\"\n");
    assert!(toml.contains(&secret_line));
    toml.replace(&secret_line, credential_lines)
}

fn cert_lines(cert: &Path, key: Option<&Path>) -> String {
    let mut s = format!("client_certificate_file = {:?}\n", cert.display().to_string());
    if let Some(k) = key {
        s.push_str(&format!("client_certificate_key_file = {:?}\n", k.display().to_string()));
    }
    s
}

/// The status page as text: its HTML escapes undone, so messages and hints compare as written.
async fn status_page(addr: std::net::SocketAddr) -> String {
    let (_, _, page) = get(addr, "/").await;
    page.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

/// The failed-poll series of the registration report: poll_success, the failure counter of
/// `reason`, and last_error_info with `reason` and `graph_code`.
fn assert_failed_poll(exp: &Exposition, reason: &str, graph_code: &str, failures: f64) {
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(0.0), "{}", exp.text);
    let labels = [("tenant", TENANT), ("report", "registration_details"), ("reason", reason)];
    assert_eq!(exp.get("entra_authmethods_poll_failures_total", &labels), Some(failures), "{}", exp.text);
    let info = [("tenant", TENANT), ("report", "registration_details"), ("reason", reason), ("graph_code", graph_code)];
    assert_eq!(exp.get("entra_authmethods_last_error_info", &info), Some(1.0), "{}", exp.text);
}

#[tokio::test]
async fn rsa_certificate_and_key_in_one_pem_file_end_to_end() {
    let sim = sim().await;
    let cert = std::fs::read_to_string(testdata("rsa.crt")).unwrap();
    let key = std::fs::read_to_string(testdata("rsa.key")).unwrap();
    let (not_before, not_after) = pem_dates(&testdata("rsa.crt"));
    let thumbprint = sim.register_certificate(DEMO_TENANT_ID, &cert);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("client.pem");
    std::fs::write(&file, format!("{cert}{key}")).unwrap();

    let exporter = start_exporter(&settings(&toml_with(&sim, &cert_lines(&file, None)))).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(1.0), "{}", exp.text);
    assert_eq!(exp.get(EXPIRY, &[("tenant", TENANT)]), Some(not_after as f64));
    assert_eq!(exp.get(NOT_BEFORE, &[("tenant", TENANT)]), Some(not_before as f64));
    let seen = sim.last_client_assertion(DEMO_TENANT_ID).expect("an assertion was accepted");
    assert_eq!(seen.kind, AssertionKind::Certificate);
    assert_eq!(seen.algorithm, "PS256");
    assert_eq!(seen.certificate_thumbprint.as_deref(), Some(thumbprint.as_str()));
    assert_eq!(seen.issuer, DEMO_CLIENT_ID);
    assert_eq!(seen.subject, DEMO_CLIENT_ID);
    assert!(seen.jti.is_some());
    promtool_check_metrics(&exp.text);
    exporter.shutdown().await;
}

#[tokio::test]
async fn rsa_certificate_with_a_separate_key_file_signs_ps256() {
    let sim = sim().await;
    let cert_pem = std::fs::read_to_string(testdata("rsa.crt")).unwrap();
    let thumbprint = sim.register_certificate(DEMO_TENANT_ID, &cert_pem);
    let lines = cert_lines(&testdata("rsa.crt"), Some(&testdata("rsa.key")));
    let exporter = start_exporter(&settings(&toml_with(&sim, &lines))).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(1.0), "{}", exp.text);
    let seen = sim.last_client_assertion(DEMO_TENANT_ID).unwrap();
    assert_eq!(seen.algorithm, "PS256");
    assert_eq!(seen.certificate_thumbprint, Some(thumbprint));
    exporter.shutdown().await;
}

#[tokio::test]
async fn an_ec_certificate_is_a_configuration_error_naming_the_file() {
    let sim = sim().await;
    let (cert, key) = ec_cert();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ec.pem");
    std::fs::write(&file, format!("{cert}{key}")).unwrap();
    let toml = toml_with(&sim, &cert_lines(&file, None));

    let err = preflight::from_toml_str(&toml).unwrap_err().to_string();
    assert!(err.contains(&format!("client_certificate_file {}", file.display())), "{err}");
    assert!(err.contains("EC (ECDSA) key") && err.contains(RSA_ONLY), "{err}");
    assert!(!err.contains("PRIVATE KEY") && !err.contains('\n'), "{err}");

    // The daemon refuses to start on it, with the same line (here from --check-config).
    let out = run_binary(&toml, &["--check-config"]).await;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{text}");
    assert!(text.contains(&file.display().to_string()) && text.contains(RSA_ONLY), "{text}");
}

#[tokio::test]
async fn a_rotated_certificate_is_used_without_a_restart() {
    let sim = sim().await;
    // Before: the test certificate with its PKCS#1 key. After: another key, PKCS#8, and new dates.
    let (cert_a, key_a) =
        (std::fs::read_to_string(testdata("rsa.crt")).unwrap(), std::fs::read_to_string(testdata("rsa.key")).unwrap());
    let (cert_b, key_b, not_before_b, not_after_b) = rsa_cert(2021, 2101, "rotated");
    let thumb_a = sim.register_certificate(DEMO_TENANT_ID, &cert_a);
    let thumb_b = sim.register_certificate(DEMO_TENANT_ID, &cert_b);
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert_file, &cert_a).unwrap();
    std::fs::write(&key_file, &key_a).unwrap();

    let exporter = start_exporter(&settings(&toml_with(&sim, &cert_lines(&cert_file, Some(&key_file))))).await;
    assert_eq!(sim.last_client_assertion(DEMO_TENANT_ID).unwrap().certificate_thumbprint, Some(thumb_a));

    // Both files replaced (as cert-manager or a Secret update does): the next token request reads them.
    replace_file(&key_file, &key_b);
    replace_file(&cert_file, &cert_b);
    tokio::time::sleep(TOKEN_LIFETIME + Duration::from_millis(200)).await;
    assert!(exporter.poll_now().await, "the poll after rotation succeeds");
    assert_eq!(sim.last_client_assertion(DEMO_TENANT_ID).unwrap().certificate_thumbprint, Some(thumb_b));
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get(EXPIRY, &[("tenant", TENANT)]), Some(not_after_b as f64));
    assert_eq!(exp.get(NOT_BEFORE, &[("tenant", TENANT)]), Some(not_before_b as f64));
    exporter.shutdown().await;
}

#[tokio::test]
async fn an_expired_certificate_is_reported_at_startup_and_in_the_metric() {
    let sim = sim().await;
    let (cert, key, _, not_after) = rsa_cert(2019, 2021, "expired");
    sim.register_certificate(DEMO_TENANT_ID, &cert);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("expired.pem");
    std::fs::write(&file, format!("{cert}{key}")).unwrap();
    let toml = toml_with(&sim, &cert_lines(&file, None));

    // At startup: one line naming the file and the dates (here from --check-config, which loads
    // the configuration exactly as the daemon does).
    let out = run_binary(&toml, &["--check-config"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stderr
        .lines()
        .chain(stdout.lines())
        .find(|l| l.contains("has expired"))
        .unwrap_or_else(|| panic!("no expiry warning:\n{stderr}\n{stdout}"));
    assert!(line.contains(&file.display().to_string()), "{line}");
    assert!(line.contains("2019-01-01T00:00:00Z") && line.contains("2021-01-01T00:00:00Z"), "{line}");
    assert!(!line.contains("PRIVATE KEY"), "{line}");

    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get(EXPIRY, &[("tenant", TENANT)]), Some(not_after as f64));
    assert_failed_poll(&exp, "unauthorized", "invalid_client", 1.0);
    let page = status_page(exporter.addr).await;
    assert!(page.contains("AADSTS700027"), "{page}");
    assert!(page.contains(&format!("client certificate {} has expired", file.display())), "{page}");
    assert!(page.contains(CERTIFICATE_HINT), "{page}");
    exporter.shutdown().await;
}

#[tokio::test]
async fn a_certificate_valid_from_next_year_is_reported_and_its_not_before_exported() {
    let sim = sim().await;
    let next_year = time::OffsetDateTime::now_utc().year() + 1;
    let (cert, key, not_before, not_after) = rsa_cert(next_year, next_year + 5, "not yet valid");
    sim.register_certificate(DEMO_TENANT_ID, &cert);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("future.pem");
    std::fs::write(&file, format!("{cert}{key}")).unwrap();
    let toml = toml_with(&sim, &cert_lines(&file, None));
    let from = format!("{next_year}-01-01T00:00:00Z");

    // At startup: a warning naming the file and the dates; the configuration is still accepted.
    let out = run_binary(&toml, &["--check-config"]).await;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("is not valid yet"))
        .unwrap_or_else(|| panic!("no not-yet-valid warning:\n{text}"));
    assert!(line.contains(&file.display().to_string()) && line.contains(&from), "{line}");

    // The metric carries notBefore; Entra refuses the certificate, and the message says why.
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get(NOT_BEFORE, &[("tenant", TENANT)]), Some(not_before as f64));
    assert_eq!(exp.get(EXPIRY, &[("tenant", TENANT)]), Some(not_after as f64));
    assert_failed_poll(&exp, "unauthorized", "invalid_client", 1.0);
    assert!(sim.last_client_assertion(DEMO_TENANT_ID).is_none());
    let page = status_page(exporter.addr).await;
    assert!(page.contains("AADSTS700027"), "{page}");
    let problem = format!("client certificate {} is not valid yet (valid from {from} to ", file.display());
    assert!(page.contains(&problem), "{page}");
    assert!(page.contains(CERTIFICATE_HINT), "{page}");
    promtool_check_metrics(&exp.text);
    exporter.shutdown().await;
}

#[tokio::test]
async fn an_unregistered_certificate_fails_as_unauthorized_with_aadsts700027() {
    let sim = sim().await;
    // The same key in another certificate: another thumbprint, which the app does not know.
    let (registered, _, _, _) = rsa_cert(2020, 2100, "registered");
    sim.register_certificate(DEMO_TENANT_ID, &registered);
    let (cert, key, _, _) = rsa_cert(2020, 2100, "not registered");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("other.pem");
    std::fs::write(&file, format!("{cert}{key}")).unwrap();

    let exporter = start_exporter(&settings(&toml_with(&sim, &cert_lines(&file, None)))).await;
    let exp = scrape(exporter.addr).await;
    assert_failed_poll(&exp, "unauthorized", "invalid_client", 1.0);
    let page = status_page(exporter.addr).await;
    assert!(page.contains("AADSTS700027") && page.contains("The key was not found"), "{page}");
    assert!(page.contains(CERTIFICATE_HINT), "{page}");
    assert!(!page.contains("client secret"), "not the secret's hint: {page}");
    assert!(!page.contains("BEGIN"), "no key material on the status page");
    assert!(sim.last_client_assertion(DEMO_TENANT_ID).is_none());
    exporter.shutdown().await;
}

/// The common test config with `key = "value"` of the tenant table replaced.
fn toml_replacing(sim: &RunningSimulator, key: &str, value: &str) -> String {
    let toml = config_toml(sim, "", "");
    let line = toml.lines().find(|l| l.starts_with(&format!("{key} = "))).unwrap().to_string();
    toml.replace(&line, &format!("{key} = \"{value}\""))
}

#[tokio::test]
async fn an_unknown_tenant_id_fails_with_aadsts90002() {
    let sim = sim().await;
    // A well-formed tenant ID the simulator (like Entra) has never heard of.
    let unknown = "0f0e0d0c-0b0a-4999-8888-777766665555";
    let exporter = start_exporter(&settings(&toml_replacing(&sim, "tenant_id", unknown))).await;
    let exp = scrape(exporter.addr).await;
    assert_failed_poll(&exp, "unauthorized", "invalid_tenant", 1.0);
    assert_eq!(
        exp.get("entra_authmethods_token_requests_total", &[("tenant", TENANT), ("outcome", "success")]),
        Some(0.0)
    );
    let page = status_page(exporter.addr).await;
    assert!(page.contains(&format!("HTTP 400 invalid_tenant: AADSTS90002: Tenant '{unknown}' not found")), "{page}");
    assert!(page.contains("the tenant was not found: check tenant_id and cloud"), "{page}");
    exporter.shutdown().await;
}

#[tokio::test]
async fn an_unknown_client_id_fails_with_aadsts700016() {
    let sim = sim().await;
    let unknown = "0a0b0c0d-1e1f-4aaa-8bbb-cccc0000dddd";
    let exporter = start_exporter(&settings(&toml_replacing(&sim, "client_id", unknown))).await;
    let exp = scrape(exporter.addr).await;
    assert_failed_poll(&exp, "unauthorized", "unauthorized_client", 1.0);
    let page = status_page(exporter.addr).await;
    let message = format!(
        "HTTP 400 unauthorized_client: AADSTS700016: Application with identifier '{unknown}' was not found in the directory '{DEMO_TENANT_ID}'"
    );
    assert!(page.contains(&message), "{page}");
    assert!(page.contains("the application was not found in this tenant: check client_id"), "{page}");
    assert!(!page.contains(DEMO_CLIENT_SECRET), "the secret is never shown");
    exporter.shutdown().await;
}

/// A projected service-account token (the simulator does not check its signature; this one is an
/// HMAC so that it is a well-formed JWS).
fn federated_token(issuer: &str, subject: &str, audience: &str, jti: &str) -> String {
    let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let input = format!(
        "{}.{}",
        b64(serde_json::json!({"alg": "HS256", "typ": "JWT"})),
        b64(serde_json::json!({
            "iss": issuer, "sub": subject, "aud": [audience], "jti": jti,
            "iat": now, "nbf": now, "exp": now + 3600,
        }))
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"test-issuer-key");
    let sig = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

const ISSUER: &str = "https://oidc.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/";
const SUBJECT: &str = "system:serviceaccount:monitoring:entra-authmethods-exporter";

/// A config using workload identity from the webhook's variables only: no tenant_id, client_id,
/// login_endpoint or credential keys in the file.
fn load_workload_identity(sim: &RunningSimulator, dir: &Path, token_file: &Path) -> config::Settings {
    let toml = toml_with(sim, "")
        .lines()
        .filter(|l| !l.starts_with("tenant_id") && !l.starts_with("client_id") && !l.starts_with("login_endpoint"))
        .collect::<Vec<_>>()
        .join("\n");
    let path = dir.join("config.toml");
    std::fs::write(&path, toml).unwrap();
    let env: HashMap<String, String> = [
        ("AZURE_FEDERATED_TOKEN_FILE", token_file.display().to_string()),
        ("AZURE_CLIENT_ID", DEMO_CLIENT_ID.to_string()),
        ("AZURE_TENANT_ID", DEMO_TENANT_ID.to_string()),
        ("AZURE_AUTHORITY_HOST", format!("{}/", sim.base_url())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    config::load(Sources { file: Some(&path), env: Some(env) }).expect("workload identity config loads")
}

#[tokio::test]
async fn workload_identity_rereads_the_projected_token_at_every_token_request() {
    let sim = sim().await;
    sim.register_federated_credential(DEMO_TENANT_ID, ISSUER, SUBJECT);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("azure-identity-token");
    std::fs::write(&token_file, federated_token(ISSUER, SUBJECT, FEDERATED_AUDIENCE, "first")).unwrap();
    let settings = load_workload_identity(&sim, dir.path(), &token_file);
    assert!(matches!(settings.tenants[0].app_credential, Some(AppCredential::WorkloadIdentity(_))));

    let exporter = start_exporter(&settings).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(1.0), "{}", exp.text);
    assert_eq!(exp.get(EXPIRY, &[("tenant", TENANT)]), None, "no certificate, no expiry series");
    let seen = sim.last_client_assertion(DEMO_TENANT_ID).unwrap();
    assert_eq!(
        (seen.kind, seen.subject.as_str(), seen.jti.as_deref()),
        (AssertionKind::Federated, SUBJECT, Some("first"))
    );

    // kubelet rotates the token; the next token request sends the new one.
    replace_file(&token_file, &federated_token(ISSUER, SUBJECT, FEDERATED_AUDIENCE, "second"));
    tokio::time::sleep(TOKEN_LIFETIME + Duration::from_millis(200)).await;
    assert!(exporter.poll_now().await);
    assert_eq!(sim.last_client_assertion(DEMO_TENANT_ID).unwrap().jti.as_deref(), Some("second"));

    // A token for another service account matches no federated credential: AADSTS70021.
    replace_file(&token_file, &federated_token(ISSUER, "system:serviceaccount:default:other", FEDERATED_AUDIENCE, "x"));
    tokio::time::sleep(TOKEN_LIFETIME + Duration::from_millis(200)).await;
    assert!(!exporter.poll_now().await);
    let page = status_page(exporter.addr).await;
    assert!(page.contains("HTTP 400 invalid_request: AADSTS70021: No matching federated identity record"), "{page}");
    assert!(
        page.contains("no federated credential of the app registration matches the token: add one with the cluster's OIDC issuer URL"),
        "{page}"
    );
    assert!(!page.contains("tenant was not found"), "not the tenant's hint: {page}");
    assert_failed_poll(&scrape(exporter.addr).await, "unauthorized", "invalid_request", 1.0);
    exporter.shutdown().await;
}

#[tokio::test]
async fn an_unreadable_federated_token_file_fails_the_poll_as_config() {
    let sim = sim().await;
    sim.register_federated_credential(DEMO_TENANT_ID, ISSUER, SUBJECT);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("azure-identity-token");
    std::fs::write(&token_file, federated_token(ISSUER, SUBJECT, FEDERATED_AUDIENCE, "first")).unwrap();
    let exporter = start_exporter(&load_workload_identity(&sim, dir.path(), &token_file)).await;
    assert_eq!(scrape(exporter.addr).await.get("entra_authmethods_poll_success", &REPORT), Some(1.0));

    // The projected volume is gone: a clear failure naming the file, not a crash, and the poll's
    // metrics say config (no token request was sent). Revoking the tokens makes Graph refuse the
    // cached one, so the poll needs a new token at once.
    std::fs::remove_file(&token_file).unwrap();
    sim.revoke_tokens();
    let before = sim.stats().token_requests_failed;
    assert!(!exporter.poll_now().await);
    assert_eq!(sim.stats().token_requests_failed, before, "nothing sent to Entra");
    let exp = scrape(exporter.addr).await;
    assert_failed_poll(&exp, "config", "none", 1.0);
    let failure = [("tenant", TENANT), ("outcome", "failure")];
    assert_eq!(exp.get("entra_authmethods_token_requests_total", &failure), Some(1.0), "{}", exp.text);
    let page = status_page(exporter.addr).await;
    let message =
        format!("cannot read the federated token file {} (AZURE_FEDERATED_TOKEN_FILE): ", token_file.display());
    assert!(page.contains(&message), "{page}");
    exporter.shutdown().await;
}

#[test]
fn a_key_that_does_not_belong_to_the_certificate_is_a_config_error() {
    // The test certificate (rsa.crt, whose key is rsa.key) with the other test key.
    let (_, other_key, _, _) = rsa_cert(2020, 2100, "other");
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (testdata("rsa.crt"), dir.path().join("k.pem"));
    std::fs::write(&key_file, other_key).unwrap();
    let toml = format!(
        "[[tenant]]\nname = \"c\"\ntenant_id = \"{DEMO_TENANT_ID}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\n{}",
        cert_lines(&cert_file, Some(&key_file))
    );
    let err = preflight::from_toml_str(&toml).unwrap_err().to_string();
    assert!(err.contains("does not belong to the certificate"), "{err}");
    assert!(!err.contains("PRIVATE KEY") && !err.contains('\n'), "{err}");
}

#[test]
fn workload_identity_environment_is_used_only_without_other_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let env = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    let webhook = [
        ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token"),
        ("AZURE_CLIENT_ID", DEMO_CLIENT_ID),
        ("AZURE_TENANT_ID", DEMO_TENANT_ID),
    ];
    // A configured secret wins over the environment.
    std::fs::write(&path, format!("[[tenant]]\nname = \"c\"\ntenant_id = \"{DEMO_TENANT_ID}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nclient_secret = \"s\"\n")).unwrap();
    let s = config::load(Sources { file: Some(&path), env: Some(env(&webhook)) }).unwrap();
    assert!(matches!(s.tenants[0].app_credential, Some(AppCredential::Secret(_))));
    // Nothing configured: the webhook's variables make it workload identity.
    std::fs::write(&path, "[[tenant]]\nname = \"c\"\n").unwrap();
    let s = config::load(Sources { file: Some(&path), env: Some(env(&webhook)) }).unwrap();
    let Some(AppCredential::WorkloadIdentity(wi)) = &s.tenants[0].app_credential else { panic!("{s:?}") };
    assert_eq!(wi.token_file, Path::new("/var/run/secrets/azure/tokens/azure-identity-token"));
    assert_eq!((s.tenants[0].tenant_id.as_str(), s.tenants[0].client_id.as_str()), (DEMO_TENANT_ID, DEMO_CLIENT_ID));
    // Explicit workload identity without the token file names the variable.
    std::fs::write(
        &path,
        format!("[[tenant]]\nname = \"c\"\ntenant_id = \"{DEMO_TENANT_ID}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\ncredential = \"workload_identity\"\n"),
    )
    .unwrap();
    let err = config::load(Sources { file: Some(&path), env: Some(env(&[])) }).unwrap_err().to_string();
    assert!(err.contains("AZURE_FEDERATED_TOKEN_FILE"), "{err}");
}

/// The common test config with neither client_id nor client secret, and `lines` instead.
fn managed_identity_toml(sim: &RunningSimulator, lines: &str) -> String {
    let toml = config_toml(sim, "", "");
    let secret_line = format!("client_secret = \"{DEMO_CLIENT_SECRET}\"\n");
    let client_line = format!("client_id = \"{DEMO_CLIENT_ID}\"\n");
    assert!(toml.contains(&secret_line) && toml.contains(&client_line));
    toml.replace(&client_line, "").replace(&secret_line, lines)
}

fn imds_lines(endpoint: &str) -> String {
    format!("credential = \"managed_identity\"\nmanaged_identity_endpoint = \"{endpoint}\"\n")
}

/// Every `entra_authmethods_users` series the truth has, equal to it.
fn assert_users_match_truth(exp: &Exposition, sim: &RunningSimulator) {
    let truth = truth::compute(TENANT, &sim.population(DEMO_TENANT_ID));
    let got = exp.family("entra_authmethods_users");
    assert!(!truth.users.is_empty());
    for (labels, want) in &truth.users {
        assert_eq!(got.get(labels), Some(want), "entra_authmethods_users{labels:?}");
    }
    let all = [("tenant", TENANT), ("user_type", "all"), ("user_role", "all")];
    assert_eq!(exp.get("entra_authmethods_users", &all), Some(truth.listed_users as f64));
}

#[tokio::test]
async fn system_assigned_managed_identity_via_imds_end_to_end() {
    let sim = sim().await;
    let toml = managed_identity_toml(&sim, &imds_lines(&format!("{}{IMDS_TOKEN_PATH}", sim.base_url())));
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(1.0), "{}", exp.text);
    assert_users_match_truth(&exp, &sim);
    let seen = sim.last_managed_identity_request().expect("IMDS issued the token");
    assert_eq!(seen.protocol, ManagedIdentityProtocol::Imds);
    assert_eq!((seen.api_version.as_str(), seen.resource.as_str()), ("2018-02-01", "https://graph.microsoft.com/"));
    assert_eq!((seen.requested_client_id, seen.client_id.as_str()), (None, DEMO_MANAGED_IDENTITY_CLIENT_ID));

    // IMDS said "expires_in": "2" (a string): the token is renewed after that, not kept for an hour.
    let issued = sim.stats().token_requests_ok;
    tokio::time::sleep(TOKEN_LIFETIME + Duration::from_millis(200)).await;
    assert!(exporter.poll_now().await);
    assert!(sim.stats().token_requests_ok > issued, "a new managed-identity token was requested");
    // … before Graph had to refuse the old one.
    let exp = scrape(exporter.addr).await;
    let rejected: f64 = exp
        .family("entra_authmethods_graph_requests_total")
        .iter()
        .filter(|(l, _)| l["code"] == "401")
        .map(|(_, v)| v)
        .sum();
    assert_eq!(rejected, 0.0, "{}", exp.text);
    exporter.shutdown().await;
}

#[tokio::test]
async fn auto_with_a_client_id_uses_the_user_assigned_identity() {
    let sim = sim().await;
    // No secret, no certificate, no AZURE_FEDERATED_TOKEN_FILE: auto ends at managed identity.
    let lines = format!(
        "credential = \"auto\"\nclient_id = \"{DEMO_USER_ASSIGNED_CLIENT_ID}\"\nmanaged_identity_endpoint = \"{}{IMDS_TOKEN_PATH}\"\n",
        sim.base_url()
    );
    let settings = settings(&managed_identity_toml(&sim, &lines));
    assert!(matches!(settings.tenants[0].app_credential, Some(AppCredential::ManagedIdentity(_))));
    let exporter = start_exporter(&settings).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(1.0), "{}", exp.text);
    assert_users_match_truth(&exp, &sim);
    let seen = sim.last_managed_identity_request().unwrap();
    assert_eq!(seen.requested_client_id.as_deref(), Some(DEMO_USER_ASSIGNED_CLIENT_ID));
    assert_eq!(seen.client_id, DEMO_USER_ASSIGNED_CLIENT_ID);
    exporter.shutdown().await;
}

#[tokio::test]
async fn app_service_identity_endpoint_with_its_header() {
    let sim = sim().await;
    let lines = |header: &str| {
        format!(
            "credential = \"managed_identity\"\nmanaged_identity_endpoint = \"{}{APP_SERVICE_TOKEN_PATH}\"\nmanaged_identity_header = \"{header}\"\n",
            sim.base_url()
        )
    };
    let exporter = start_exporter(&settings(&managed_identity_toml(&sim, &lines(DEMO_IDENTITY_HEADER)))).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(1.0), "{}", exp.text);
    assert_users_match_truth(&exp, &sim);
    let seen = sim.last_managed_identity_request().unwrap();
    assert_eq!((seen.protocol, seen.api_version.as_str()), (ManagedIdentityProtocol::AppService, "2019-08-01"));
    let (_, _, page) = get(exporter.addr, "/").await;
    assert!(!page.contains(DEMO_IDENTITY_HEADER), "the identity header is a secret");
    exporter.shutdown().await;

    // A wrong header is refused (401): a configuration problem, reported without the header value.
    let wrong = "wrong-identity-header-value";
    let exporter = start_exporter(&settings(&managed_identity_toml(&sim, &lines(wrong)))).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(0.0));
    let failures = [("tenant", TENANT), ("report", "registration_details"), ("reason", "unauthorized")];
    assert_eq!(exp.get("entra_authmethods_poll_failures_total", &failures), Some(1.0), "{}", exp.text);
    let (_, _, page) = get(exporter.addr, "/").await;
    assert!(page.contains("managed identity endpoint") && page.contains("HTTP 401"), "{page}");
    assert!(!page.contains(wrong) && !exp.text.contains(wrong));
    exporter.shutdown().await;
}

#[tokio::test]
async fn unreachable_imds_fails_the_poll_as_network_with_a_clear_message() {
    let sim = sim().await;
    // A port nothing listens on: connection refused, as when no identity endpoint exists.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let toml = managed_identity_toml(&sim, &imds_lines(&format!("http://{closed}{IMDS_TOKEN_PATH}")));
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(0.0));
    let failures = [("tenant", TENANT), ("report", "registration_details"), ("reason", "network")];
    assert_eq!(exp.get("entra_authmethods_poll_failures_total", &failures), Some(1.0), "{}", exp.text);
    let info = [("tenant", TENANT), ("report", "registration_details"), ("reason", "network"), ("graph_code", "none")];
    assert_eq!(exp.get("entra_authmethods_last_error_info", &info), Some(1.0), "{}", exp.text);
    let (_, _, page) = get(exporter.addr, "/").await;
    assert!(page.contains("managed identity endpoint unreachable"), "{page}");
    assert!(page.contains(&closed.to_string()), "names the endpoint: {page}");
    exporter.shutdown().await;
}

#[tokio::test]
async fn imds_answering_503_is_retried_and_then_reported_as_server_error() {
    let sim = sim().await;
    // Two 503s: the retries inside one poll absorb them.
    sim.push_fault(Fault::ManagedIdentityUnavailable { count: 2, status: 503 });
    let toml = managed_identity_toml(&sim, &imds_lines(&format!("{}{IMDS_TOKEN_PATH}", sim.base_url())));
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(1.0), "{}", exp.text);
    assert_eq!((sim.pending_faults(), sim.stats().token_requests_failed), (0, 2));

    // IMDS stays down for all five attempts (graph.max_attempts) of the next poll, which needs a new token.
    sim.push_fault(Fault::ManagedIdentityUnavailable { count: 5, status: 503 });
    sim.revoke_tokens();
    assert!(!exporter.poll_now().await);
    assert_eq!(sim.pending_faults(), 0);
    let exp = scrape(exporter.addr).await;
    let failures = [("tenant", TENANT), ("report", "registration_details"), ("reason", "server_error")];
    assert_eq!(exp.get("entra_authmethods_poll_failures_total", &failures), Some(1.0), "{}", exp.text);
    let (_, _, page) = get(exporter.addr, "/").await;
    assert!(page.contains("managed identity endpoint") && page.contains("HTTP 503"), "{page}");

    // IMDS is back: the next poll recovers on its own.
    assert!(exporter.poll_now().await);
    exporter.shutdown().await;
}

#[tokio::test]
async fn check_config_logs_which_credential_auto_chose_without_secrets() {
    let sim = sim().await;
    let lines = format!(
        "credential = \"auto\"\nmanaged_identity_endpoint = \"{}{APP_SERVICE_TOKEN_PATH}\"\nmanaged_identity_header = \"{DEMO_IDENTITY_HEADER}\"\n",
        sim.base_url()
    );
    let out = run_binary_env(&managed_identity_toml(&sim, &lines), &["--check-config"], &[]).await;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("chose managed identity"))
        .unwrap_or_else(|| panic!("no choice logged:\n{text}"));
    assert!(line.contains("AZURE_FEDERATED_TOKEN_FILE") && line.contains("App Service"), "{line}");
    assert!(!text.contains(DEMO_IDENTITY_HEADER), "{text}");
}

#[tokio::test]
async fn auto_uses_app_service_variables_from_the_environment() {
    let sim = sim().await;
    let endpoint = format!("{}{APP_SERVICE_TOKEN_PATH}", sim.base_url());
    let toml = managed_identity_toml(&sim, "credential = \"auto\"\n");
    let env = [("IDENTITY_ENDPOINT", endpoint.as_str()), ("IDENTITY_HEADER", DEMO_IDENTITY_HEADER)];
    let out = run_binary_env(&toml, &["--check-config"], &env).await;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    let line = text.lines().find(|l| l.contains("chose managed identity")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("App Service") && line.contains(&endpoint), "{line}");
    assert!(!text.contains(DEMO_IDENTITY_HEADER), "{text}");

    // Without the variables the same configuration falls to IMDS.
    let out = run_binary_env(&toml, &["--check-config"], &[]).await;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let line = text.lines().find(|l| l.contains("chose managed identity")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("IMDS") && line.contains("169.254.169.254"), "{line}");

    // With the webhook's token file, auto picks workload identity first.
    let out = run_binary_env(
        &toml,
        &["--check-config"],
        &[("AZURE_FEDERATED_TOKEN_FILE", "/nonexistent/token"), ("AZURE_CLIENT_ID", DEMO_CLIENT_ID)],
    )
    .await;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("chose workload_identity"), "{text}");
}

/// The JSON log lines of a run at warning level.
fn warnings(stderr: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|j| j["level"] == "WARN")
        .collect()
}

/// One cause, one warning: a wrong client secret fails the token request that every report of the
/// tenant shares, so it is one warning line naming the login endpoint and the number of reports,
/// not one per report. Every failed poll is still counted in the metrics.
#[tokio::test]
async fn a_wrong_client_secret_is_one_warning_per_tenant_not_one_per_report() {
    let sim = sim().await;
    let toml = config_toml_with_reports(&sim, "", "", "")
        .replace(&format!("client_secret = \"{DEMO_CLIENT_SECRET}\""), "client_secret = \"not-the-secret\"");
    let out = run_binary(&toml, &["--once", "--log.format", "json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let exp = Exposition::parse(&String::from_utf8(out.stdout).unwrap());
    let failures = exp.family("entra_authmethods_poll_failures_total");
    let failed: Vec<_> = failures.iter().filter(|(l, v)| l["reason"] == "unauthorized" && **v == 1.0).collect();
    assert!(failed.len() >= 5, "every app report failed and was counted: {failures:?}");

    let all = warnings(&out.stderr);
    let token: Vec<_> = all.iter().filter(|j| j.to_string().contains("invalid_client")).collect();
    assert_eq!(token.len(), 1, "one warning for the tenant: {all:#?}");
    let line = token[0];
    let login = sim.base_url().trim_start_matches("http://").trim_end_matches('/').to_string();
    assert_eq!(line["tenant"], TENANT);
    assert_eq!(line["endpoint"], format!("login endpoint {login}"));
    assert_eq!(line["reports"], failed.len(), "{line}");
    assert_eq!(line["graph_code"], "AADSTS7000215");
    assert!(line["hint"].as_str().unwrap().contains("secret's Value (not its Secret ID)"), "{line}");
    let message = line["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("login endpoint {login}")) && message.contains(&format!("{} report", failed.len()))
    );
    assert!(!all.iter().any(|j| j["message"] == "poll failed; keeping the last good data"), "{all:#?}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not-the-secret"), "the secret is never logged");
    sim.shutdown().await;
}

/// An unknown tenant is one cause too: one warning with the tenant hint.
#[tokio::test]
async fn an_unknown_tenant_is_one_warning_per_tenant() {
    let sim = sim().await;
    let unknown = "0f0e0d0c-0b0a-4999-8888-777766665555";
    let toml = config_toml_with_reports(&sim, "", "", "").replace(DEMO_TENANT_ID, unknown);
    let out = run_binary(&toml, &["--once", "--log.format", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let all = warnings(&out.stderr);
    let token: Vec<_> = all.iter().filter(|j| j.to_string().contains("AADSTS90002")).collect();
    assert_eq!(token.len(), 1, "{all:#?}");
    assert_eq!(token[0]["reason"], "unauthorized");
    assert!(token[0]["hint"].as_str().unwrap().contains("tenant was not found"));
    sim.shutdown().await;
}

/// An unreachable managed-identity endpoint is shared by every app report too: one warning naming
/// that endpoint (not the login endpoint, not Graph) with the count of reports.
#[tokio::test]
async fn an_unreachable_managed_identity_endpoint_is_one_warning_naming_it() {
    let sim = sim().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let endpoint = format!("http://{closed}{IMDS_TOKEN_PATH}");
    let toml = config_toml_with_reports(&sim, "", "", "")
        .replace(&format!("client_id = \"{DEMO_CLIENT_ID}\"\n"), "")
        .replace(&format!("client_secret = \"{DEMO_CLIENT_SECRET}\"\n"), &imds_lines(&endpoint));
    let out = run_binary_env(&toml, &["--once", "--log.format", "json"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let all = warnings(&out.stderr);
    let token: Vec<_> = all.iter().filter(|j| j["reason"] == "network").collect();
    assert_eq!(token.len(), 1, "{all:#?}");
    assert_eq!(token[0]["endpoint"], format!("managed identity endpoint {endpoint}"));
    assert!(token[0]["reports"].as_u64().unwrap() >= 5, "{}", token[0]);
    assert!(token[0]["hint"].as_str().unwrap().contains("managed identity endpoint unreachable"));
    sim.shutdown().await;
}
