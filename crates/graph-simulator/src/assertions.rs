//! Client assertions at the token endpoint (Microsoft identity platform, "Certificate credentials"
//! (<https://learn.microsoft.com/entra/identity-platform/certificate-credentials>); Microsoft identity platform,
//! "Workload identity federation" (<https://learn.microsoft.com/entra/workload-id/workload-identity-federation>)):
//! certificate assertions are verified for real against a certificate registered on the tenant's app (signature with
//! the certificate's public key, `aud`, `iss`/`sub`, `nbf`/`exp`, the certificate's own validity). As in Entra only RSA
//! keys sign them (RS256 or PS256); ES256 is refused with AADSTS700027. This check is the exporter's test oracle: it
//! uses ring directly, never the exporter's JWT library. Federated assertions (workload identity) must match a
//! registered federated identity credential by issuer and subject, carry the audience `api://AzureADTokenExchange` and
//! not be expired.
//!
//! The simulator does NOT verify a federated token's signature: that would need the external
//! issuer's OIDC discovery document and keys, which tests have no reason to serve. Entra does.
//! Assertions are never logged or echoed; only claims are quoted in error texts, as Entra does.

use std::sync::Mutex;

use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use ring::signature;

use super::entra::EntraError;

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 section 2.2; Microsoft identity
/// platform, "Certificate credentials").
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// base64url without padding, the JWS encoding (RFC 7515 section 2).
fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `x5t#S256`: base64url of the SHA-256 digest of the certificate's DER (RFC 7515 section 4.1.8),
/// which Entra's "Certificate credentials" page asks for in the assertion's header.
fn thumbprint_s256(der: &[u8]) -> String {
    b64url(ring::digest::digest(&ring::digest::SHA256, der).as_ref())
}

/// `x5t`: base64url of the SHA-1 digest of the certificate's DER (RFC 7515 section 4.1.7), the
/// older header Entra still accepts with RS256.
fn thumbprint_sha1(der: &[u8]) -> String {
    b64url(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref())
}

/// RFC 3339 UTC, as Entra quotes times in its error descriptions.
fn format_unix(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The audience a federated token must carry for Entra.
pub const FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";

/// Clock skew Entra tolerates on `nbf` and `exp`.
const SKEW_SECS: i64 = 300;

/// Which kind of client assertion a tenant's app last accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertionKind {
    Certificate,
    Federated,
}

/// What the simulator saw in the last accepted client assertion of a tenant (for tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAssertionSeen {
    pub kind: AssertionKind,
    /// `x5t#S256` of the registered certificate whose key verified the signature.
    pub certificate_thumbprint: Option<String>,
    /// The JWT `alg` header.
    pub algorithm: String,
    pub issuer: String,
    pub subject: String,
    pub jti: Option<String>,
}

struct RegisteredCertificate {
    s256: String,
    sha1: String,
    /// subjectPublicKey bits: an RSAPublicKey DER (or an EC point, which no assertion can use).
    public_key: Vec<u8>,
    rsa: bool,
    not_before: i64,
    not_after: i64,
}

/// The certificates and federated credentials of an app registration, and the last assertion.
#[derive(Default)]
pub(crate) struct AppCredentials {
    certificates: Vec<RegisteredCertificate>,
    federated: Vec<(String, String)>,
    last: Option<ClientAssertionSeen>,
}

impl AppCredentials {
    /// Registers a PEM certificate; returns its `x5t#S256`.
    pub(crate) fn add_certificate(&mut self, pem: &str) -> Result<String, String> {
        let block = x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
            .filter_map(Result::ok)
            .find(|p| p.label == "CERTIFICATE")
            .ok_or("no CERTIFICATE block")?;
        let (_, cert) = x509_parser::parse_x509_certificate(&block.contents).map_err(|e| e.to_string())?;
        let rsa = cert.public_key().algorithm.algorithm == x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION;
        let s256 = thumbprint_s256(&block.contents);
        self.certificates.push(RegisteredCertificate {
            s256: s256.clone(),
            sha1: thumbprint_sha1(&block.contents),
            public_key: cert.public_key().subject_public_key.data.to_vec(),
            rsa,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
        });
        Ok(s256)
    }

    pub(crate) fn add_federated(&mut self, issuer: &str, subject: &str) {
        self.federated.push((issuer.to_owned(), subject.to_owned()));
    }

    pub(crate) fn last(&self) -> Option<ClientAssertionSeen> {
        self.last.clone()
    }
}

fn invalid_client(code: u32, text: String) -> EntraError {
    EntraError::new(StatusCode::UNAUTHORIZED, "invalid_client", code, text)
}

fn malformed(why: &str) -> EntraError {
    EntraError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        50027,
        format!("JWT token is invalid or malformed. {why}"),
    )
}

fn decode_json(part: &str) -> Option<serde_json::Value> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok().filter(serde_json::Value::is_object)
}

fn claim_str(v: &serde_json::Value, name: &str) -> String {
    v.get(name).and_then(|c| c.as_str()).map(|s| s.chars().take(200).collect()).unwrap_or_default()
}

/// Checks the `client_assertion` of a client-credentials request for the app `client_id` at the
/// token endpoint of `tenant_segment`; on success records what it saw.
pub(crate) fn check(
    creds: &Mutex<AppCredentials>,
    headers: &HeaderMap,
    tenant_segment: &str,
    client_id: &str,
    assertion_type: Option<&str>,
    assertion: &str,
) -> Result<(), EntraError> {
    if assertion_type != Some(JWT_BEARER) {
        return Err(EntraError::missing("client_assertion_type"));
    }
    let now = now_unix();
    let parts: Vec<&str> = assertion.split('.').collect();
    if parts.len() != 3 {
        return Err(malformed("The assertion is not a JWS compact serialization."));
    }
    let (Some(hdr), Some(claims)) = (decode_json(parts[0]), decode_json(parts[1])) else {
        return Err(malformed("The header or the payload is not base64url JSON."));
    };
    let alg = claim_str(&hdr, "alg");
    let x5t_s256 = claim_str(&hdr, "x5t#S256");
    let x5t = claim_str(&hdr, "x5t");
    let mut creds = super::faults::lock(creds);
    let seen = if x5t_s256.is_empty() && x5t.is_empty() {
        check_federated(&creds, &claims, &alg, now)?
    } else {
        check_certificate(&creds, headers, tenant_segment, client_id, &parts, &alg, &x5t_s256, &x5t, &claims, now)?
    };
    creds.last = Some(seen);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn check_certificate(
    creds: &AppCredentials,
    headers: &HeaderMap,
    tenant_segment: &str,
    client_id: &str,
    parts: &[&str],
    alg: &str,
    x5t_s256: &str,
    x5t: &str,
    claims: &serde_json::Value,
    now: i64,
) -> Result<ClientAssertionSeen, EntraError> {
    let shown = if x5t_s256.is_empty() { x5t } else { x5t_s256 };
    let Some(cert) = creds
        .certificates
        .iter()
        .find(|c| (!x5t_s256.is_empty() && c.s256 == x5t_s256) || (!x5t.is_empty() && c.sha1 == x5t))
    else {
        return Err(invalid_client(
            700027,
            format!(
                "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '{shown}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'.]"
            ),
        ));
    };
    // Entra verifies client assertions with RSA keys only (RS256, PS256): an ES256 assertion, or
    // any assertion whose key is not RSA, fails signature validation.
    let algorithm: &dyn signature::VerificationAlgorithm = match (alg, cert.rsa) {
        ("RS256", true) => &signature::RSA_PKCS1_2048_8192_SHA256,
        ("PS256", true) => &signature::RSA_PSS_2048_8192_SHA256,
        _ => {
            let a: String = alg.chars().take(20).collect();
            return Err(invalid_client(
                700027,
                format!(
                    "Client assertion failed signature validation. [Reason - The algorithm '{a}' is not supported: client assertions must be signed with an RSA key (RS256 or PS256)., Thumbprint of key used by client: '{shown}']"
                ),
            ));
        }
    };
    let signature_bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[2].trim_end_matches('=')).ok();
    let signed = format!("{}.{}", parts[0], parts[1]);
    let valid = signature_bytes.is_some_and(|sig| {
        signature::UnparsedPublicKey::new(algorithm, &cert.public_key).verify(signed.as_bytes(), &sig).is_ok()
    });
    if !valid {
        return Err(invalid_client(
            700027,
            format!(
                "Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{shown}']"
            ),
        ));
    }
    if now > cert.not_after || now < cert.not_before {
        return Err(invalid_client(
            700027,
            format!(
                "Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '{shown}', Found key 'Start={}, End={}']",
                format_unix(cert.not_before),
                format_unix(cert.not_after)
            ),
        ));
    }
    let iss = claim_str(claims, "iss");
    let sub = claim_str(claims, "sub");
    if !iss.eq_ignore_ascii_case(client_id) || !sub.eq_ignore_ascii_case(client_id) {
        return Err(invalid_client(
            700021,
            format!(
                "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials. Issuer: '{iss}', subject: '{sub}'."
            ),
        ));
    }
    let aud = claim_str(claims, "aud");
    if !audience_is_token_endpoint(&aud, headers, tenant_segment) {
        return Err(invalid_client(
            700027,
            format!("Client assertion contains an invalid audience '{aud}': it must be the token endpoint URL."),
        ));
    }
    check_time(claims, now)?;
    Ok(ClientAssertionSeen {
        kind: AssertionKind::Certificate,
        certificate_thumbprint: Some(cert.s256.clone()),
        algorithm: alg.to_owned(),
        issuer: iss,
        subject: sub,
        jti: claims.get("jti").and_then(|j| j.as_str()).map(str::to_owned),
    })
}

/// `aud` must be this endpoint: `http(s)://{Host}/{tenant}/oauth2/v2.0/token`.
fn audience_is_token_endpoint(aud: &str, headers: &HeaderMap, tenant_segment: &str) -> bool {
    let Ok(url) = url::Url::parse(aud) else { return false };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let authority = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => return false,
    };
    authority.eq_ignore_ascii_case(host) && url.path() == format!("/{tenant_segment}/oauth2/v2.0/token")
}

fn check_time(claims: &serde_json::Value, now: i64) -> Result<(), EntraError> {
    let exp = claims.get("exp").and_then(serde_json::Value::as_i64);
    let nbf = claims.get("nbf").and_then(serde_json::Value::as_i64);
    let too_early = nbf.is_some_and(|n| now + SKEW_SECS < n);
    let expired = exp.is_none_or(|e| now >= e + SKEW_SECS);
    if too_early || expired {
        return Err(invalid_client(
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}.",
                format_unix(now),
                nbf.map(format_unix).unwrap_or_else(|| "-".into()),
                exp.map(format_unix).unwrap_or_else(|| "-".into()),
            ),
        ));
    }
    Ok(())
}

fn check_federated(
    creds: &AppCredentials,
    claims: &serde_json::Value,
    alg: &str,
    now: i64,
) -> Result<ClientAssertionSeen, EntraError> {
    // Signature NOT verified here (see the module comment).
    let iss = claim_str(claims, "iss");
    let sub = claim_str(claims, "sub");
    let audiences: Vec<String> = match claims.get("aud") {
        Some(serde_json::Value::String(a)) => vec![a.clone()],
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    let matched = creds.federated.iter().any(|(i, s)| *i == iss && *s == sub);
    if !matched || !audiences.iter().any(|a| a == FEDERATED_AUDIENCE) {
        let aud: String = audiences.join(",").chars().take(200).collect();
        return Err(EntraError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            70021,
            format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{aud}'."
            ),
        ));
    }
    check_time(claims, now)?;
    Ok(ClientAssertionSeen {
        kind: AssertionKind::Federated,
        certificate_thumbprint: None,
        algorithm: alg.to_owned(),
        issuer: iss,
        subject: sub,
        jti: claims.get("jti").and_then(|j| j.as_str()).map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const CLIENT: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

    /// The test's own client: signs a PS256 assertion as Microsoft's "Certificate credentials"
    /// page describes it, with ring alone, so these tests check the verifier and nothing else.
    struct TestSigner {
        key: signature::RsaKeyPair,
        s256: String,
    }

    impl TestSigner {
        fn assertion(&self, aud: &str, client: &str, now: i64) -> String {
            let header = serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t#S256": self.s256});
            let claims = serde_json::json!({
                "aud": aud, "iss": client, "sub": client, "jti": "j", "nbf": now, "iat": now, "exp": now + 300
            });
            let input = format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()));
            let mut sig = vec![0; self.key.public().modulus_len()];
            let rng = ring::rand::SystemRandom::new();
            self.key.sign(&signature::RSA_PSS_SHA256, &rng, input.as_bytes(), &mut sig).unwrap();
            format!("{input}.{}", b64url(&sig))
        }
    }

    fn pem_block(path: &std::path::Path, label: &str) -> Vec<u8> {
        let text = std::fs::read(path).unwrap();
        x509_parser::pem::Pem::iter_from_buffer(&text)
            .filter_map(Result::ok)
            .find(|p| p.label == label)
            .unwrap()
            .contents
    }

    fn setup() -> (Mutex<AppCredentials>, TestSigner, HeaderMap) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/testdata/web");
        let key = signature::RsaKeyPair::from_der(&pem_block(&dir.join("rsa.key"), "RSA PRIVATE KEY")).unwrap();
        let cert = TestSigner { key, s256: thumbprint_s256(&pem_block(&dir.join("rsa.crt"), "CERTIFICATE")) };
        let mut creds = AppCredentials::default();
        creds.add_certificate(&std::fs::read_to_string(dir.join("rsa.crt")).unwrap()).unwrap();
        creds.add_federated("https://issuer.example/", "system:serviceaccount:ns:sa");
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:9"));
        (Mutex::new(creds), cert, headers)
    }

    const AUD: &str = "http://127.0.0.1:9/t/oauth2/v2.0/token";

    fn code(r: Result<(), EntraError>) -> u32 {
        r.err().map(|e| e.code).unwrap_or(0)
    }

    #[test]
    fn certificate_assertions_are_verified() {
        let (creds, cert, h) = setup();
        let now = now_unix();
        let check_ = |jwt: &str, client: &str| check(&creds, &h, "t", client, Some(JWT_BEARER), jwt);
        let good = cert.assertion(AUD, CLIENT, now);
        assert_eq!(code(check_(&good, CLIENT)), 0);
        assert_eq!(creds.lock().unwrap().last().unwrap().kind, AssertionKind::Certificate);
        // Another app's client_id: iss/sub do not match.
        assert_eq!(code(check_(&good, "bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee")), 700021);
        // Signed an hour ago: outside its time range.
        let old = cert.assertion(AUD, CLIENT, now - 3600);
        assert_eq!(code(check_(&old, CLIENT)), 700024);
        // Another endpoint's audience.
        let other = cert.assertion("http://127.0.0.1:9/other/oauth2/v2.0/token", CLIENT, now);
        assert_eq!(code(check_(&other, CLIENT)), 700027);
        // A tampered signature.
        let mut tampered = good.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(code(check_(&tampered, CLIENT)), 700027);
        assert_eq!(code(check_("not.a.jwt", CLIENT)), 50027);
        assert_eq!(code(check(&creds, &h, "t", CLIENT, None, &good)), 900144);
    }

    /// An ES256 assertion signed by the key of a registered EC certificate: correctly signed, and
    /// still refused as Entra does, with its exact error body.
    #[tokio::test]
    async fn es256_assertions_are_refused_with_aadsts700027() {
        let (creds, _, h) = setup();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap().self_signed(&key).unwrap();
        let thumbprint = creds.lock().unwrap().add_certificate(&cert.pem()).unwrap();
        let now = now_unix();
        let b64 = |v: serde_json::Value| b64url(v.to_string().as_bytes());
        let input = format!(
            "{}.{}",
            b64(serde_json::json!({"alg": "ES256", "typ": "JWT", "x5t#S256": thumbprint})),
            b64(
                serde_json::json!({"aud": AUD, "iss": CLIENT, "sub": CLIENT, "jti": "j", "nbf": now, "exp": now + 300})
            )
        );
        let rng = ring::rand::SystemRandom::new();
        let pair = signature::EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &key.serialize_der(),
            &rng,
        )
        .unwrap();
        let sig = pair.sign(&rng, input.as_bytes()).unwrap();
        let jwt = format!("{input}.{}", b64url(sig.as_ref()));

        let err = check(&creds, &h, "t", CLIENT, Some(JWT_BEARER), &jwt).unwrap_err();
        assert_eq!((err.status, err.error, err.code), (StatusCode::UNAUTHORIZED, "invalid_client", 700027));
        assert!(creds.lock().unwrap().last().is_none(), "nothing accepted");
        let response = err.into_response("aaaa0000-bb11-2222-33cc-444444dddddd");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut want =
            vec!["error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"];
        want.sort_unstable();
        assert_eq!(keys, want);
        assert_eq!(body["error"], "invalid_client");
        assert_eq!(body["error_codes"], serde_json::json!([700027]));
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description.starts_with("AADSTS700027: Client assertion failed signature validation. [Reason - The algorithm 'ES256' is not supported"),
            "{description}"
        );
        assert!(description.contains(&thumbprint), "{description}");
        assert!(!description.contains(&jwt), "the assertion is never echoed");
    }

    #[test]
    fn federated_assertions_match_issuer_subject_audience_and_lifetime() {
        let (creds, _, h) = setup();
        let now = now_unix();
        let jwt = |iss: &str, sub: &str, aud: &str, exp: i64| {
            let h = b64url(br#"{"alg":"RS256","kid":"k"}"#);
            let c = serde_json::json!({"iss": iss, "sub": sub, "aud": aud, "exp": exp, "nbf": now - 10});
            format!("{h}.{}.c2ln", b64url(c.to_string().as_bytes()))
        };
        let run = |t: String| code(check(&creds, &h, "t", CLIENT, Some(JWT_BEARER), &t));
        let (iss, sub) = ("https://issuer.example/", "system:serviceaccount:ns:sa");
        assert_eq!(run(jwt(iss, sub, FEDERATED_AUDIENCE, now + 600)), 0);
        assert_eq!(run(jwt(iss, "system:serviceaccount:ns:other", FEDERATED_AUDIENCE, now + 600)), 70021);
        assert_eq!(run(jwt("https://elsewhere/", sub, FEDERATED_AUDIENCE, now + 600)), 70021);
        assert_eq!(run(jwt(iss, sub, "api://other", now + 600)), 70021);
        assert_eq!(run(jwt(iss, sub, FEDERATED_AUDIENCE, now - 3600)), 700024);
    }
}
