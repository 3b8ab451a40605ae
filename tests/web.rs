//! `--web.config.file`: TLS, client certificates, certificate rotation, basic auth and security
//! headers over real sockets on 127.0.0.1, with a CA and certificates generated at test time; and
//! every malformed fixture under tests/testdata/web rejected with a message naming its key.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use entra_authmethods_exporter::app::{self, RunningExporter};
use entra_authmethods_exporter::http::web::{REALM, WebConfig};
use graph_simulator::RunningSimulator;
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A CA that signs server and client certificates.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Ca { pem: cert.pem(), issuer: Issuer::new(params, key) }
}

/// (certificate PEM, key PEM) signed by `ca`.
fn leaf(ca: &Ca, name: &str, client: bool) -> (String, String) {
    let sans = if client { vec![] } else { vec!["127.0.0.1".to_string(), "localhost".to_string()] };
    let mut params = CertificateParams::new(sans).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    params.extended_key_usages =
        vec![if client { ExtendedKeyUsagePurpose::ClientAuth } else { ExtendedKeyUsagePurpose::ServerAuth }];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

/// A directory holding the server certificate (`tls.crt`, `tls.key`), the CA (`ca.crt`) and
/// `web.yml`.
struct Setup {
    dir: tempfile::TempDir,
    ca: Ca,
    server_cert: String,
}

impl Setup {
    fn new(web_yml: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let ca = ca("test CA");
        let (cert, key) = leaf(&ca, "exporter", false);
        std::fs::write(dir.path().join("tls.crt"), &cert).unwrap();
        std::fs::write(dir.path().join("tls.key"), &key).unwrap();
        std::fs::write(dir.path().join("ca.crt"), &ca.pem).unwrap();
        std::fs::write(dir.path().join("web.yml"), web_yml).unwrap();
        Setup { dir, ca, server_cert: cert }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn load(&self) -> WebConfig {
        WebConfig::load(self.path("web.yml")).expect("web config is valid")
    }
}

async fn start(web: WebConfig) -> (RunningSimulator, RunningExporter) {
    let sim = common::start_simulator(20, 1).await;
    let settings = common::settings(&common::config_toml(&sim, "", ""));
    let exporter = app::start(&settings, common::loopback(), "/metrics", Some(web)).await.expect("exporter starts");
    (sim, exporter)
}

struct ClientOpts<'a> {
    ca_pem: &'a str,
    identity: Option<(&'a str, &'a str)>,
    tls12_only: bool,
}

fn tls_client(o: ClientOpts<'_>) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der(o.ca_pem)).unwrap();
    let versions: &[&rustls::SupportedProtocolVersion] =
        if o.tls12_only { &[&rustls::version::TLS12] } else { &[&rustls::version::TLS13, &rustls::version::TLS12] };
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let config = match o.identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(vec![der(cert)], PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder().tls_backend_preconfigured(config).tls_info(true).build().unwrap()
}

fn https(addr: SocketAddr, path: &str) -> String {
    format!("https://127.0.0.1:{}{path}", addr.port())
}

#[tokio::test]
async fn tls_serves_metrics_and_respects_min_version() {
    let setup = Setup::new("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  min_version: TLS13\n");
    let (_sim, exporter) = start(setup.load()).await;
    exporter.wait_for_first_round().await;

    let client = tls_client(ClientOpts { ca_pem: &setup.ca.pem, identity: None, tls12_only: false });
    let resp = client.get(https(exporter.addr, "/metrics")).send().await.expect("TLS handshake and request");
    assert_eq!(resp.status(), 200);
    let tls = resp.extensions().get::<reqwest::tls::TlsInfo>().expect("TLS info").clone();
    assert_eq!(tls.peer_certificate(), Some(der(&setup.server_cert).as_ref()));
    let body = resp.text().await.unwrap();
    assert!(body.contains("entra_authmethods_"), "{body}");

    let old = tls_client(ClientOpts { ca_pem: &setup.ca.pem, identity: None, tls12_only: true });
    let err = old.get(https(exporter.addr, "/metrics")).send().await;
    assert!(err.is_err(), "a TLS 1.2-only client must be refused when min_version is TLS13");

    // The container health check reaches the TLS listener over loopback.
    let health = entra_authmethods_exporter::healthcheck::url_for(exporter.addr, true);
    assert_eq!(
        entra_authmethods_exporter::healthcheck::check(&health, std::time::Duration::from_secs(3)).await,
        Ok(())
    );

    // Plain HTTP on the TLS port gets no answer it could mistake for metrics.
    let plain = common::client().get(format!("http://{}/metrics", exporter.addr)).send().await;
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
    exporter.shutdown().await;
}

#[tokio::test]
async fn mutual_tls_requires_a_certificate_signed_by_the_client_ca() {
    let setup = Setup::new(
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
    );
    let (_sim, exporter) = start(setup.load()).await;
    let url = https(exporter.addr, "/metrics");

    let anonymous = tls_client(ClientOpts { ca_pem: &setup.ca.pem, identity: None, tls12_only: false });
    assert!(anonymous.get(&url).send().await.is_err(), "a client without a certificate must be refused");
    let anonymous12 = tls_client(ClientOpts { ca_pem: &setup.ca.pem, identity: None, tls12_only: true });
    assert!(anonymous12.get(&url).send().await.is_err(), "also over TLS 1.2");

    let stranger_ca = ca("another CA");
    let (cert, key) = leaf(&stranger_ca, "mallory", true);
    let stranger = tls_client(ClientOpts { ca_pem: &setup.ca.pem, identity: Some((&cert, &key)), tls12_only: false });
    assert!(stranger.get(&url).send().await.is_err(), "a certificate from another CA must be refused");

    let (cert, key) = leaf(&setup.ca, "prometheus", true);
    let scraper = tls_client(ClientOpts { ca_pem: &setup.ca.pem, identity: Some((&cert, &key)), tls12_only: false });
    let resp = scraper.get(&url).send().await.expect("client certificate accepted");
    assert_eq!(resp.status(), 200);
    exporter.shutdown().await;
}

#[tokio::test]
async fn rotated_certificate_is_served_without_restart() {
    let setup = Setup::new("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n");
    let (_sim, exporter) = start(setup.load()).await;
    let url = https(exporter.addr, "/healthz");
    let served = || async {
        // A new client per request: a pooled connection would keep the old certificate.
        let client = tls_client(ClientOpts { ca_pem: &setup.ca.pem, identity: None, tls12_only: false });
        let resp = client.get(&url).send().await.expect("request");
        resp.extensions().get::<reqwest::tls::TlsInfo>().and_then(|t| t.peer_certificate().map(<[u8]>::to_vec))
    };
    assert_eq!(served().await.as_deref(), Some(der(&setup.server_cert).as_ref()));

    let (new_cert, new_key) = leaf(&setup.ca, "exporter-rotated", false);
    // Replace atomically, as Kubernetes does: write aside, then rename over.
    std::fs::write(setup.path("tls.key.new"), &new_key).unwrap();
    std::fs::write(setup.path("tls.crt.new"), &new_cert).unwrap();
    std::fs::rename(setup.path("tls.key.new"), setup.path("tls.key")).unwrap();
    std::fs::rename(setup.path("tls.crt.new"), setup.path("tls.crt")).unwrap();

    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if served().await.as_deref() == Some(der(&new_cert).as_ref()) {
            break;
        }
        assert!(Instant::now() < deadline, "the rotated certificate was not served within 15 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A broken replacement keeps the current certificate.
    std::fs::write(setup.path("tls.crt"), "not a certificate").unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(served().await.as_deref(), Some(der(&new_cert).as_ref()));
    exporter.shutdown().await;
}

#[tokio::test]
async fn basic_auth_and_security_headers() {
    let hash = bcrypt::hash("correct horse", 4).unwrap();
    let yml = format!(
        "basic_auth_users:\n  prometheus: {hash}\nhttp_server_config:\n  http2: true\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n    Content-Security-Policy: default-src 'self'\n    Strict-Transport-Security: max-age=31536000\n    X-XSS-Protection: 1; mode=block\n"
    );
    let setup = Setup::new(&yml);
    let web = setup.load();
    assert!(!format!("{web:?}").contains(&hash), "Debug must not show hashes");
    let (_sim, exporter) = start(web).await;
    let client = common::client();
    let url = |p: &str| format!("http://{}{p}", exporter.addr);

    let ok = client.get(url("/metrics")).basic_auth("prometheus", Some("correct horse")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let headers = ok.headers().clone();
    assert_eq!(headers["x-frame-options"], "deny");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-security-policy"], "default-src 'self'");
    assert_eq!(headers["strict-transport-security"], "max-age=31536000");
    assert_eq!(headers["x-xss-protection"], "1; mode=block");
    // Served from the cache the second time: still right.
    let again = client.get(url("/metrics")).basic_auth("prometheus", Some("correct horse")).send().await.unwrap();
    assert_eq!(again.status(), 200);

    let mut bodies = Vec::new();
    for req in [
        client.get(url("/metrics")).basic_auth("prometheus", Some("wrong")),
        client.get(url("/metrics")).basic_auth("grafana", Some("correct horse")),
        client.get(url("/metrics")),
        client.get(url("/metrics")).header("authorization", "Basic !!!"),
        client.get(url("/readyz")).basic_auth("prometheus", Some("wrong")),
        client.get(url("/")),
    ] {
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        assert_eq!(resp.headers()["www-authenticate"], REALM);
        assert_eq!(resp.headers()["x-frame-options"], "deny", "headers on 401 too");
        bodies.push(resp.text().await.unwrap());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "401 bodies must not differ: {bodies:?}");
    // Repeated wrong password (cached negative) is still refused.
    let resp = client.get(url("/metrics")).basic_auth("prometheus", Some("wrong")).send().await.unwrap();
    assert_eq!(resp.status(), 401);

    for open in ["/healthz", "/-/healthy"] {
        let resp = client.get(url(open)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{open} stays open");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    }
    exporter.shutdown().await;
}

/// `--demo` applies `--web.config.file` like the daemon does: basic auth guards the demo's metrics.
#[tokio::test]
async fn the_demo_applies_the_web_config() {
    let hash = bcrypt::hash("demo password", 4).unwrap();
    let setup = Setup::new(&format!("basic_auth_users:\n  prometheus: {hash}\n"));
    let web = setup.path("web.yml");
    let (mut child, mut lines) = common::spawn_demo([std::ffi::OsStr::new("--web.config.file"), web.as_os_str()]);
    // The metrics URL is printed once the listener is bound.
    let mut url = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(u) = line.trim().strip_prefix("metrics:") {
            url = Some(u.trim().to_string());
            break;
        }
    }
    let url = url.expect("the demo prints the metrics URL");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let client = common::client();
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
    let ok = client.get(&url).basic_auth("prometheus", Some("demo password")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    child.kill().await.unwrap();
}

#[test]
fn every_malformed_fixture_is_rejected_naming_its_key() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/web");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let expect =
            text.lines().next().and_then(|l| l.strip_prefix("# expect: ")).expect("fixture starts with # expect:");
        let err = WebConfig::load(&path).expect_err(&format!("{} must be rejected", path.display()));
        assert!(!err.contains('\n'), "one line: {err}");
        assert!(err.contains(&path.display().to_string()), "names the file: {err}");
        assert!(err.contains(expect), "{}: {err:?} should name {expect:?}", path.display());
        assert!(!err.contains("plaintext-password") && !err.contains("$2y$"), "no secret in: {err}");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} fixtures");
}

#[test]
fn key_that_does_not_match_the_certificate_is_rejected() {
    let setup = Setup::new("tls_server_config:\n  cert_file: tls.crt\n  key_file: other.key\n");
    std::fs::write(setup.path("other.key"), KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let err = WebConfig::load(setup.path("web.yml")).unwrap_err();
    assert!(err.contains("tls_server_config.key_file") && err.contains("does not match"), "{err}");
    assert!(!err.contains("PRIVATE KEY"), "{err}");
}

#[test]
fn check_config_validates_the_web_config() {
    let bad = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/web/cipher_suites.yml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_entra-authmethods-exporter"))
        .args(["--check-config", "--web.config.file"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("web config {}: tls_server_config.cipher_suites", bad.display())), "{stderr}");
}

#[tokio::test]
async fn rsa_pkcs1_key_is_served() {
    // A committed self-signed RSA certificate (ring cannot generate RSA keys at test time) with a
    // PKCS#1 "RSA PRIVATE KEY"; valid until 2126.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/web");
    let dir = tempfile::tempdir().unwrap();
    let yml = format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
        data.join("rsa.crt").display(),
        data.join("rsa.key").display()
    );
    std::fs::write(dir.path().join("web.yml"), yml).unwrap();
    let (_sim, exporter) = start(WebConfig::load(dir.path().join("web.yml")).expect("RSA pair loads")).await;
    let pem = std::fs::read_to_string(data.join("rsa.crt")).unwrap();
    for tls12_only in [false, true] {
        let client = tls_client(ClientOpts { ca_pem: &pem, identity: None, tls12_only });
        let resp = client.get(https(exporter.addr, "/healthz")).send().await.expect("RSA handshake");
        assert_eq!(resp.status(), 200);
    }
    exporter.shutdown().await;
}

#[tokio::test]
async fn optional_and_unverified_client_certificate_policies() {
    let stranger_ca = ca("another CA");
    for (policy, anonymous_ok, stranger_ok) in [
        ("VerifyClientCertIfGiven", true, false),
        ("RequireAnyClientCert", false, true),
        ("RequestClientCert", true, true),
    ] {
        let ca_line = if policy == "VerifyClientCertIfGiven" { "  client_ca_file: ca.crt\n" } else { "" };
        let setup = Setup::new(&format!(
            "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  client_auth_type: {policy}\n{ca_line}"
        ));
        let (_sim, exporter) = start(setup.load()).await;
        let url = https(exporter.addr, "/metrics");
        let anonymous = tls_client(ClientOpts { ca_pem: &setup.ca.pem, identity: None, tls12_only: false });
        let got = anonymous.get(&url).send().await.map(|r| r.status().as_u16()).ok();
        assert_eq!(got == Some(200), anonymous_ok, "{policy}: anonymous client");
        let (cert, key) = leaf(&stranger_ca, "stranger", true);
        let stranger =
            tls_client(ClientOpts { ca_pem: &setup.ca.pem, identity: Some((&cert, &key)), tls12_only: false });
        let got = stranger.get(&url).send().await.map(|r| r.status().as_u16()).ok();
        assert_eq!(got == Some(200), stranger_ok, "{policy}: certificate from an unknown CA");
        exporter.shutdown().await;
    }
}
