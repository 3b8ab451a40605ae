//! exporter-toolkit's own test cases (its web/tls_config_test.go and web/testdata), reproduced as
//! fixtures under tests/testdata/web/toolkit: each gets the toolkit's verdict, or the documented
//! difference (docs/web-config.md) where rustls or this HTTP/1.1 server cannot follow; and its
//! handshake, rate-limit and basic-auth cases over real sockets on 127.0.0.1. The rest of
//! `--web.config.file` is tested in tests/web.rs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use entra_authmethods_exporter::http::web::WebConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

/// A client certificate no CA signed.
fn self_signed_client() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["scraper.example".to_string()]).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// A router standing in for the exporter's, served through the web config like the exporter is.
async fn serve_web(web: WebConfig) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    use axum::routing::get;
    use entra_authmethods_exporter::http::web::{ConnectionLimits, serve};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new()
        .route("/metrics", get(|| async { "metrics\n" }))
        .route("/healthz", get(|| async { "ok\n" }));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, router, Some(web), ConnectionLimits::default(), async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

fn toolkit_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/web/toolkit").join(name)
}

/// The project's committed RSA test certificate (self-signed, SAN 127.0.0.1) that the toolkit
/// fixtures serve, as exporter-toolkit's serve an RSA certificate.
fn rsa_pem() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/web/rsa.crt")).unwrap()
}

/// One GET /healthz over a fresh TLS connection, trusting only ../rsa.crt, with a client limited to
/// `suites` and `groups` (rustls' ring defaults where `None`): the status and the negotiated suite,
/// or the failure.
async fn raw_tls_get(
    addr: SocketAddr,
    versions: &[&'static rustls::SupportedProtocolVersion],
    suites: Option<&[rustls::CipherSuite]>,
    groups: Option<&[rustls::NamedGroup]>,
) -> Result<(u16, rustls::CipherSuite), String> {
    tls_get_as(addr, versions, suites, groups, None).await
}

/// [`raw_tls_get`] presenting a client certificate (PEM certificate, PEM key).
async fn tls_get_as(
    addr: SocketAddr,
    versions: &[&'static rustls::SupportedProtocolVersion],
    suites: Option<&[rustls::CipherSuite]>,
    groups: Option<&[rustls::NamedGroup]>,
    identity: Option<(&str, &str)>,
) -> Result<(u16, rustls::CipherSuite), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(suites) = suites {
        // In the order given: the client's preference.
        let all = rustls::crypto::ring::ALL_CIPHER_SUITES;
        provider.cipher_suites =
            suites.iter().filter_map(|id| all.iter().find(|s| s.suite() == *id).copied()).collect();
    }
    if let Some(groups) = groups {
        provider.kx_groups.retain(|g| groups.contains(&g.name()));
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der(&rsa_pem())).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(vec![der(cert)], PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let mut tls =
        tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(|e| e.to_string())?;
    let suite = tls.get_ref().1.negotiated_cipher_suite().map(|s| s.suite()).ok_or("no suite")?;
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    // A close without close_notify after a complete answer is not a failure here.
    if let Err(e) = tls.read_to_end(&mut response).await
        && response.is_empty()
    {
        return Err(e.to_string());
    }
    let head = String::from_utf8_lossy(&response);
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or(format!("no HTTP answer: {head}"))?;
    Ok((status, suite))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Accept,
    /// Refused at load, the one-line error containing this.
    Reject(&'static str),
}

use Verdict::{Accept, Reject};

/// exporter-toolkit's web/tls_config_test.go cases, one fixture each under tests/testdata/web/toolkit
/// (the first line of each names the toolkit file): (fixture, the toolkit's verdict, the verdict
/// here, a warning expected here). The verdicts differ only where docs/web-config.md says why.
const TOOLKIT_CASES: &[(&str, Verdict, Verdict, Option<&str>)] = &[
    ("no-such-web-config.yml", Reject(""), Reject("cannot read the file"), None),
    ("empty.yml", Accept, Accept, None),
    ("junk.yml", Reject(""), Reject("invalid type"), None),
    ("misspelled_key.yml", Reject(""), Reject("certfile_typo"), None),
    ("cert_file_empty.yml", Reject(""), Reject("tls_server_config.cert_file"), None),
    ("inline_cert_empty.yml", Reject(""), Reject("tls_server_config.cert_file"), None),
    ("key_file_empty.yml", Reject(""), Reject("tls_server_config.key_file"), None),
    ("inline_key_empty.yml", Reject(""), Reject("tls_server_config.key_file"), None),
    ("cert_and_key_file_empty.yml", Reject(""), Reject("tls_server_config.cert_file"), None),
    ("cert_file_missing.yml", Reject(""), Reject("No such file"), None),
    ("key_file_missing.yml", Reject(""), Reject("No such file"), None),
    ("cert_and_key_files_missing.yml", Reject(""), Reject("No such file"), None),
    ("ca_without_client_auth.yml", Reject(""), Reject("tls_server_config.client_ca_file"), None),
    ("client_ca_file_missing.yml", Reject(""), Reject("tls_server_config.client_ca_file"), None),
    ("password_not_bcrypt.yml", Reject(""), Reject("basic_auth_users.mallory"), None),
    ("invented_cipher.yml", Reject(""), Reject("tls_server_config.cipher_suites"), None),
    ("invented_curve.yml", Reject(""), Reject("tls_server_config.curve_preferences"), None),
    ("tls_version_typo.yml", Reject(""), Reject("tls_server_config.min_version"), None),
    ("verify_if_given_without_ca.yml", Accept, Accept, Some("system's trust store")),
    ("inline_cert_and_key.yml", Accept, Accept, Some("system's trust store")),
    ("all_ciphers.yml", Accept, Accept, Some("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA left out")),
    ("some_ciphers.yml", Accept, Accept, None),
    ("some_ciphers_client_order.yml", Accept, Accept, None),
    ("all_curves.yml", Accept, Accept, Some("CurveP521 left out")),
    // ring has no P-521 and leaving it out would leave no curve.
    ("only_p521.yml", Accept, Reject("tls_server_config.curve_preferences: CurveP521"), None),
    ("no_http2_ciphers.yml", Accept, Accept, None),
    // Go's HTTP/2 rule; this server speaks HTTP/1.1 only.
    ("http2_without_required_cipher.yml", Reject("HTTP/2"), Accept, Some("HTTP/2")),
    ("headers.yml", Accept, Accept, None),
    ("bad_content_type_options.yml", Reject(""), Reject("http_server_config.headers.X-Content-Type-Options"), None),
    ("bad_frame_options.yml", Reject(""), Reject("http_server_config.headers.X-Frame-Options"), None),
    ("header_not_allowed.yml", Reject(""), Reject("http_server_config.headers.Content-Type"), None),
    ("require_any_client_cert.yml", Accept, Accept, None),
    ("require_any_client_cert_inline_key.yml", Accept, Accept, None),
    ("require_and_verify.yml", Accept, Accept, None),
    ("require_and_verify_without_ca.yml", Accept, Accept, Some("system's trust store")),
    ("allowed_sans_match.yml", Accept, Accept, None),
    ("allowed_sans_no_match.yml", Accept, Accept, None),
    ("rate_limit_off.yml", Accept, Accept, None),
    ("rate_limit_burst_zero.yml", Accept, Accept, Some("429")),
    ("users.yml", Accept, Accept, None),
    ("users_no_tls.yml", Accept, Accept, None),
];

#[test]
fn exporter_toolkit_cases_get_the_toolkit_verdict() {
    let dir = toolkit_fixture("");
    let mut on_disk: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    on_disk.sort();
    let mut listed: Vec<String> =
        TOOLKIT_CASES.iter().map(|c| c.0.to_string()).filter(|f| !f.starts_with("no-such")).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "every fixture in {} is a case, and every case has a fixture", dir.display());
    let mut differences = Vec::new();
    for &(fixture, toolkit, here, warning) in TOOLKIT_CASES {
        let path = toolkit_fixture(fixture);
        if path.exists() {
            let first = std::fs::read_to_string(&path).unwrap();
            assert!(first.starts_with("# Reproduces exporter-toolkit web/testdata/"), "{fixture} names its case");
        }
        if std::mem::discriminant(&toolkit) != std::mem::discriminant(&here) {
            differences.push(fixture);
        }
        match (WebConfig::load(&path), here) {
            (Ok(web), Accept) => {
                let found = web.warnings().iter().find(|w| warning.is_some_and(|expected| w.contains(expected)));
                assert_eq!(found.is_some(), warning.is_some(), "{fixture}: warnings {:?}", web.warnings());
                assert!(web.warnings().iter().all(|w| !w.contains('\n') && w.contains(fixture)), "{fixture}");
                assert_eq!(web.password_verifications(), 0, "{fixture}: nothing verified at load");
            }
            (Err(e), Reject(expected)) => {
                assert!(!e.contains('\n') && e.contains(fixture), "{fixture}: one line naming the file: {e}");
                assert!(e.contains(expected), "{fixture}: {e:?} should contain {expected:?}");
                assert!(!e.contains("PRIVATE KEY") && !e.contains("$2b$") && !e.contains("hunter2"), "{e}");
            }
            (got, want) => panic!("{fixture}: expected {want:?}, got {:?}", got.map(|w| w.summary())),
        }
    }
    assert_eq!(differences, ["only_p521.yml", "http2_without_required_cipher.yml"], "documented differences only");
}

/// The toolkit's cipher cases over real handshakes: its server serves an RSA certificate, as these
/// fixtures do. Its "no common cipher" client offers a CBC suite, which a rustls client cannot;
/// ChaCha20, also outside the server's list, stands in for it.
#[tokio::test]
async fn toolkit_cipher_and_curve_cases_over_tls() {
    use rustls::CipherSuite::{
        TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 as AES128, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 as AES256,
        TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 as CHACHA,
    };
    let tls12: &[&'static rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
    let any: &[&'static rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
    for fixture in ["some_ciphers.yml", "some_ciphers_client_order.yml"] {
        let (addr, _stop) = serve_web(WebConfig::load(toolkit_fixture(fixture)).unwrap()).await;
        assert_eq!(raw_tls_get(addr, tls12, Some(&[AES128]), None).await, Ok((200, AES128)), "{fixture}");
        assert!(raw_tls_get(addr, tls12, Some(&[CHACHA]), None).await.is_err(), "{fixture}: no common suite");
        // The client prefers AES-128 and the server takes the client's order (Go ignores
        // prefer_server_cipher_suites since 1.18).
        assert_eq!(raw_tls_get(addr, tls12, Some(&[AES128, AES256]), None).await, Ok((200, AES128)), "{fixture}");
        assert!(raw_tls_get(addr, &[&rustls::version::TLS13], None, None).await.is_err(), "{fixture}: TLS 1.2 only");
    }
    let (addr, _stop) = serve_web(WebConfig::load(toolkit_fixture("all_ciphers.yml")).unwrap()).await;
    assert_eq!(raw_tls_get(addr, tls12, Some(&[CHACHA]), None).await.map(|r| r.0), Ok(200));
    assert_eq!(raw_tls_get(addr, any, None, None).await.map(|r| r.0), Ok(200));

    let (addr, _stop) = serve_web(WebConfig::load(toolkit_fixture("all_curves.yml")).unwrap()).await;
    for group in [rustls::NamedGroup::X25519, rustls::NamedGroup::secp256r1, rustls::NamedGroup::secp384r1] {
        assert_eq!(raw_tls_get(addr, any, None, Some(&[group])).await.map(|r| r.0), Ok(200), "{group:?}");
    }
    // A curve the file leaves out is refused: X25519 only, a P-256 client.
    let dir = tempfile::tempdir().unwrap();
    let rsa = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/web");
    let yml = format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n  curve_preferences: [X25519]\n",
        rsa.join("rsa.crt").display(),
        rsa.join("rsa.key").display()
    );
    std::fs::write(dir.path().join("web.yml"), yml).unwrap();
    let (addr, _stop) = serve_web(WebConfig::load(dir.path().join("web.yml")).unwrap()).await;
    assert!(raw_tls_get(addr, any, None, Some(&[rustls::NamedGroup::secp256r1])).await.is_err());
    assert_eq!(raw_tls_get(addr, any, None, Some(&[rustls::NamedGroup::X25519])).await.map(|r| r.0), Ok(200));

    // http2 rule: served over HTTP/1.1 with the one suite.
    let web = WebConfig::load(toolkit_fixture("http2_without_required_cipher.yml")).unwrap();
    let (addr, _stop) = serve_web(web).await;
    assert_eq!(raw_tls_get(addr, tls12, None, None).await, Ok((200, AES256)));
}

/// The toolkit's inline cases: the handshake succeeds only with ../rsa.crt served (the client trusts
/// nothing else), so the inline pair is what the server uses.
#[tokio::test]
async fn inline_certificate_and_key_are_served() {
    let any: &[&'static rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
    let (cert, key) = self_signed_client();
    for (fixture, identity) in [
        ("inline_cert_and_key.yml", None),
        ("require_any_client_cert_inline_key.yml", Some((cert.as_str(), key.as_str()))),
    ] {
        let web = WebConfig::load(toolkit_fixture(fixture)).unwrap();
        assert!(!format!("{web:?}").contains("PRIVATE KEY"), "Debug must not show the inline key");
        let (addr, _stop) = serve_web(web).await;
        assert_eq!(tls_get_as(addr, any, None, None, identity).await.map(|r| r.0), Ok(200), "{fixture}");
    }
    // RequireAnyClientCert: no certificate, no answer.
    let (addr, _stop) =
        serve_web(WebConfig::load(toolkit_fixture("require_any_client_cert_inline_key.yml")).unwrap()).await;
    assert!(raw_tls_get(addr, any, None, None).await.is_err());
}

/// The toolkit's rate-limit cases over HTTP.
#[tokio::test]
async fn toolkit_rate_limit_cases() {
    let client = reqwest::Client::new();
    // The toolkit's one-second case: a bucket of 0 refuses every request but the liveness probes.
    let (addr, _stop) = serve_web(WebConfig::load(toolkit_fixture("rate_limit_burst_zero.yml")).unwrap()).await;
    let resp = client.get(format!("http://{addr}/metrics")).send().await.unwrap();
    assert_eq!((resp.status().as_u16(), resp.text().await.unwrap()), (429, "Too Many Requests\n".to_string()));
    assert_eq!(client.get(format!("http://{addr}/healthz")).send().await.unwrap().status(), 200);
    // interval 0: no limit at all.
    let (addr, _stop) = serve_web(WebConfig::load(toolkit_fixture("rate_limit_off.yml")).unwrap()).await;
    for _ in 0..20 {
        assert_eq!(client.get(format!("http://{addr}/metrics")).send().await.unwrap().status(), 200);
    }
}

/// Loading checks bcrypt hashes by their format only: the toolkit's users files, with a cost-18
/// hash, load and serve without one verification; a cost-12 password is verified when its first
/// request arrives, once (the cache answers the next).
#[tokio::test]
async fn bcrypt_hashes_are_verified_on_request_not_at_load() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der(&rsa_pem())).unwrap();
    let tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let https = reqwest::Client::builder().tls_backend_preconfigured(tls).build().unwrap();
    for (fixture, scheme, client) in
        [("users.yml", "https", https), ("users_no_tls.yml", "http", reqwest::Client::new())]
    {
        let web = WebConfig::load(toolkit_fixture(fixture)).unwrap();
        assert_eq!(web.basic_auth_users(), 4);
        assert_eq!(web.password_verifications(), 0, "{fixture}: load verifies nothing");
        let (addr, _stop) = serve_web(web.clone()).await;
        let url = |path: &str| format!("{scheme}://127.0.0.1:{}{path}", addr.port());
        assert_eq!(client.get(url("/healthz")).send().await.unwrap().status(), 200);
        assert_eq!(client.get(url("/metrics")).send().await.unwrap().status(), 401, "no credentials");
        assert_eq!(web.password_verifications(), 0, "{fixture}: nothing verified until credentials arrive");
        for expected in [1, 1] {
            let resp = client.get(url("/metrics")).basic_auth("heidi", Some("heidi-pass")).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{fixture}");
            assert_eq!(web.password_verifications(), expected, "{fixture}: the second answer is cached");
        }
        let resp = client.get(url("/metrics")).basic_auth("grace", Some("wrong")).send().await.unwrap();
        assert_eq!(resp.status(), 401);
        assert_eq!(web.password_verifications(), 2, "{fixture}");
    }
}
