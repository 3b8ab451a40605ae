//! `--web.config.file`: TLS, client certificates, certificate rotation, basic auth, the rate limit and
//! security headers over real sockets on 127.0.0.1, with a CA and certificates generated at test
//! time; and every malformed fixture under tests/testdata/web rejected with a message naming its key.
//! exporter-toolkit's own test cases are in tests/web_toolkit.rs.

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
    let sans: &[&str] = if client { &[] } else { &["127.0.0.1", "localhost"] };
    leaf_with_sans(ca, name, client, sans)
}

/// Like [`leaf`], with these SANs (IP addresses where they parse as one, DNS names otherwise).
fn leaf_with_sans(ca: &Ca, name: &str, client: bool, sans: &[&str]) -> (String, String) {
    let sans = sans.iter().map(|s| s.to_string()).collect::<Vec<_>>();
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
    // The last row is exporter-toolkit's canonical file (web_config_noAuth.good.yml): without a
    // client CA, a given certificate is checked against the system's trust store, which does not
    // hold the test CAs.
    for (policy, ca_line, anonymous_ok, stranger_ok) in [
        ("VerifyClientCertIfGiven", "  client_ca_file: ca.crt\n", true, false),
        ("RequireAnyClientCert", "", false, true),
        ("RequestClientCert", "", true, true),
        ("VerifyClientCertIfGiven", "", true, false),
    ] {
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

/// A router standing in for the exporter's, served through the web config like the exporter is.
async fn serve_web(web: WebConfig) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    use axum::routing::get;
    use entra_authmethods_exporter::http::web::{ConnectionLimits, serve};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new()
        .route("/metrics", get(|| async { "metrics\n" }))
        .route("/readyz", get(|| async { "ready\n" }))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/-/healthy", get(|| async { "ok\n" }));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, router, Some(web), ConnectionLimits::default(), async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

#[tokio::test]
async fn client_allowed_sans_admit_only_certificates_naming_an_allowed_san() {
    // As in exporter-toolkit: a DNS name, e-mail, IP address or URI SAN must equal an entry; a
    // certificate is then required, and for the unverified policy its issuer still does not matter.
    for (policy, ca_line) in [
        ("RequireAndVerifyClientCert", "  client_ca_file: ca.crt\n"),
        ("VerifyClientCertIfGiven", "  client_ca_file: ca.crt\n"),
        ("RequireAnyClientCert", ""),
    ] {
        let setup = Setup::new(&format!(
            "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  client_auth_type: {policy}\n{ca_line}  client_allowed_sans: [scraper.example, 10.0.0.7]\n"
        ));
        let (addr, _stop) = serve_web(setup.load()).await;
        let status = |identity: Option<(String, String)>| {
            let ca = setup.ca.pem.clone();
            async move {
                let identity = identity.as_ref().map(|(c, k)| (c.as_str(), k.as_str()));
                let client = tls_client(ClientOpts { ca_pem: &ca, identity, tls12_only: false });
                client.get(https(addr, "/metrics")).send().await.map(|r| r.status().as_u16()).ok()
            }
        };
        let by_name = leaf_with_sans(&setup.ca, "a", true, &["other.example", "scraper.example"]);
        let by_ip = leaf_with_sans(&setup.ca, "b", true, &["10.0.0.7"]);
        let other = leaf_with_sans(&setup.ca, "c", true, &["other.example", "10.0.0.8"]);
        let none = leaf(&setup.ca, "scraper.example", true);
        assert_eq!(status(Some(by_name)).await, Some(200), "{policy}: allowed DNS SAN");
        assert_eq!(status(Some(by_ip)).await, Some(200), "{policy}: allowed IP SAN");
        assert_eq!(status(Some(other)).await, None, "{policy}: no allowed SAN");
        assert_eq!(status(Some(none)).await, None, "{policy}: the common name is not a SAN");
        assert_eq!(status(None).await, None, "{policy}: no certificate");
        let stranger = leaf_with_sans(&ca("another CA"), "d", true, &["scraper.example"]);
        let expected = (policy == "RequireAnyClientCert").then_some(200);
        assert_eq!(status(Some(stranger)).await, expected, "{policy}: allowed SAN from another CA");
    }
}

#[tokio::test]
async fn rate_limit_answers_429_past_the_burst_but_never_on_healthz() {
    let hash = bcrypt::hash("pw", 4).unwrap();
    let setup = Setup::new(&format!(
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\nrate_limit:\n  interval: 1h\n  burst: 3\nbasic_auth_users:\n  prometheus: {hash}\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n"
    ));
    let web = setup.load();
    assert_eq!(web.rate_limit().map(|r| r.burst), Some(3));
    let (addr, _stop) = serve_web(web).await;
    let client = tls_client(ClientOpts { ca_pem: &setup.ca.pem, identity: None, tls12_only: false });
    let get = |path: &str, auth: bool| {
        let req = client.get(https(addr, path));
        let req = if auth { req.basic_auth("prometheus", Some("pw")) } else { req };
        async move { req.send().await.unwrap() }
    };
    // Refused credentials take a token too, as in exporter-toolkit (the limit comes first).
    assert_eq!(get("/metrics", false).await.status(), 401);
    assert_eq!(get("/metrics", true).await.status(), 200);
    assert_eq!(get("/readyz", true).await.status(), 200);
    for path in ["/metrics", "/readyz", "/"] {
        let resp = get(path, true).await;
        assert_eq!(resp.status(), 429, "{path}");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff", "headers on 429 too");
    }
    for _ in 0..10 {
        assert_eq!(get("/healthz", false).await.status(), 200);
        assert_eq!(get("/-/healthy", false).await.status(), 200);
    }
    assert_eq!(get("/metrics", true).await.status(), 429);
}

#[tokio::test]
async fn inline_client_ca_verifies_client_certificates() {
    let setup = Setup::new("");
    let inline: String = setup.ca.pem.lines().map(|l| format!("    {l}\n")).collect();
    std::fs::write(
        setup.path("web.yml"),
        format!(
            "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca: |\n{inline}"
        ),
    )
    .unwrap();
    let (addr, _stop) = serve_web(setup.load()).await;
    let status = |identity: Option<(&str, &str)>| {
        let client = tls_client(ClientOpts { ca_pem: &setup.ca.pem, identity, tls12_only: false });
        async move { client.get(https(addr, "/metrics")).send().await.map(|r| r.status().as_u16()).ok() }
    };
    let (cert, key) = leaf(&setup.ca, "prometheus", true);
    assert_eq!(status(Some((&cert, &key))).await, Some(200));
    let (cert, key) = leaf(&ca("another CA"), "mallory", true);
    assert_eq!(status(Some((&cert, &key))).await, None, "a certificate from another CA");
    assert_eq!(status(None).await, None, "no certificate");
}

/// notAfter of a PEM certificate, read here with x509-parser, apart from the exporter's code path.
fn not_after(pem: &str) -> i64 {
    let der = der(pem);
    x509_parser::parse_x509_certificate(der.as_ref()).unwrap().1.validity().not_after.timestamp()
}

/// A server certificate signed by `ca`, valid until `until` (a date in the past makes it expired).
fn leaf_until(ca: &Ca, until: (i32, u8, u8)) -> (String, String) {
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(until.0, until.1, until.2);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// The serving certificate's expiry is exported (at scrape time, so a rotation shows), and an
/// expired certificate is a warning at load that `--check-config` shows too.
#[tokio::test]
async fn the_serving_certificate_expiry_is_exported_and_an_expired_one_warns() {
    let setup = Setup::new("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n");
    let web = setup.load();
    assert!(web.warnings().is_empty(), "{:?}", web.warnings());
    let (_sim, exporter) = start(web).await;
    let family = "entra_authmethods_web_tls_certificate_expiry_timestamp_seconds";
    let read = || async {
        // A new client, so a new handshake, which is when the exporter looks at the files again.
        let client = tls_client(ClientOpts { ca_pem: &setup.ca.pem, identity: None, tls12_only: false });
        let text = client.get(https(exporter.addr, "/metrics")).send().await.unwrap().text().await.unwrap();
        common::promtool_check_metrics(&text);
        let line = text.lines().find(|l| l.starts_with(&format!("{family} "))).map(str::to_owned);
        line.map(|l| l[family.len() + 1..].parse::<f64>().unwrap() as i64)
    };
    assert_eq!(read().await, Some(not_after(&setup.server_cert)));

    // Rotation: a certificate valid until 2099 replaces the file; the metric follows within seconds.
    let (cert, key) = leaf_until(&setup.ca, (2099, 12, 31));
    std::fs::write(setup.path("tls.key"), &key).unwrap();
    std::fs::write(setup.path("tls.crt"), &cert).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while read().await != Some(not_after(&cert)) {
        assert!(Instant::now() < deadline, "the rotated certificate's expiry is exported");
        tokio::task::yield_now().await;
    }
    exporter.shutdown().await;

    // Expired: loading warns, naming the key and the date, and the summary --check-config prints says so.
    let expired = Setup::new("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n");
    let (cert, key) = leaf_until(&expired.ca, (2021, 6, 30));
    std::fs::write(expired.path("tls.crt"), &cert).unwrap();
    std::fs::write(expired.path("tls.key"), &key).unwrap();
    let web = expired.load();
    assert_eq!(web.warnings().len(), 1, "{:?}", web.warnings());
    let warning = &web.warnings()[0];
    assert!(warning.contains("tls_server_config.cert_file") && warning.contains("expired at 2021-06-30"), "{warning}");
    assert!(web.summary().contains("expired at 2021-06-30"), "{}", web.summary());
}
