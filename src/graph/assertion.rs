//! Client assertions (Microsoft identity platform, "certificate credentials":
//! <https://learn.microsoft.com/en-us/entra/identity-platform/certificate-credentials>): a certificate
//! and its private key, read from PEM files, sign a short-lived JWT that replaces the client secret.
//! It is signed PS256 (RSA-PSS with SHA-256, RFC 7518 §3.5), the algorithm of the current Entra
//! documentation, with ring directly: ring is already rustls' provider and verifies and hashes here
//! too, and a compact JWS (RFC 7515 §7.1) of a fixed header is two base64url parts and a signature.
//! The header carries `x5t#S256`, the base64url SHA-256 thumbprint of the DER certificate.
//!
//! Entra ID accepts only RSA certificates for client assertions (RS256 or PS256), so a certificate
//! or key of any other type (EC, Ed25519) is refused when the files are loaded, with the fix.
//!
//! Neither the key nor an assertion ever reaches a log line or an error message.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use ring::{digest, signature};
use x509_parser::der_parser::{self, ber::BerObjectContent};
use x509_parser::oid_registry::{self, Oid};

use crate::config::Secret;
use crate::file_read;

/// `client_assertion_type` of certificate and federated assertions (RFC 7523).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Lifetime of an assertion: Entra recommends 5 to 10 minutes; it is used once, at once.
pub(crate) const ASSERTION_LIFETIME_SECS: i64 = 300;

/// The smallest RSA key Entra and ring accept.
const MIN_RSA_BITS: usize = 2048;

/// What to do about a certificate or key that is not RSA: the end of every such message.
const RSA_ONLY: &str =
    "Entra ID accepts only RSA certificates for client assertions; create an RSA key of at least 2048 bits";

/// A certificate with its private key, ready to sign assertions.
pub(crate) struct ClientCertificate {
    /// The RSA private key (ring's key pair never prints it).
    key: signature::RsaKeyPair,
    /// base64url(SHA-256(DER certificate)): the `x5t#S256` header.
    pub(crate) thumbprint_s256: String,
    /// Unix seconds of notBefore and notAfter.
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
    /// The certificate file, for messages.
    pub(crate) file: PathBuf,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("file", &self.file)
            .field("algorithm", &self.algorithm())
            .field("thumbprint_s256", &self.thumbprint_s256)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// The JOSE header of a client assertion. The members in this order, as the assertions were written
/// before (by `jsonwebtoken`): a signed JWT's bytes are not reordered by anyone, but keeping them
/// spares a reviewer the question.
#[derive(serde::Serialize)]
struct AssertionHeader<'a> {
    typ: &'static str,
    alg: &'static str,
    #[serde(rename = "x5t#S256")]
    x5t_s256: &'a str,
}

/// The claims of a client assertion, in the order Microsoft's certificate-credentials page lists them.
#[derive(serde::Serialize)]
struct AssertionClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}

pub(crate) fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `x5t#S256` of a DER certificate.
pub(crate) fn thumbprint_s256(der: &[u8]) -> String {
    b64url(digest::digest(&digest::SHA256, der).as_ref())
}

/// RFC 3339 UTC for messages.
pub(crate) fn format_unix(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A readable name for a public-key algorithm that is not RSA.
fn key_type_name(oid: &Oid<'_>) -> String {
    if *oid == oid_registry::OID_KEY_TYPE_EC_PUBLIC_KEY {
        "an EC (ECDSA)".into()
    } else if *oid == oid_registry::OID_SIG_ED25519 {
        "an Ed25519".into()
    } else if *oid == oid_registry::OID_SIG_ED448 {
        "an Ed448".into()
    } else {
        format!("a non-RSA (algorithm {oid})")
    }
}

/// The PKCS#1 RSAPrivateKey inside a PKCS#8 PrivateKeyInfo (RFC 5208:
/// `SEQUENCE { version, SEQUENCE { algorithm OID, parameters }, OCTET STRING privateKey, … }`),
/// or, for another algorithm, its name for the message.
fn pkcs8_rsa_key(der: &[u8]) -> Result<Vec<u8>, Pkcs8Problem> {
    let (_, info) = der_parser::parse_der(der).map_err(|_| Pkcs8Problem::Malformed)?;
    let items = info.as_sequence().map_err(|_| Pkcs8Problem::Malformed)?;
    let (Some(algorithm), Some(private_key)) = (items.get(1), items.get(2)) else {
        return Err(Pkcs8Problem::Malformed);
    };
    let oid = algorithm
        .as_sequence()
        .ok()
        .and_then(|a| a.first())
        .and_then(|o| o.as_oid().ok())
        .ok_or(Pkcs8Problem::Malformed)?;
    if *oid != oid_registry::OID_PKCS1_RSAENCRYPTION {
        return Err(Pkcs8Problem::NotRsa(key_type_name(oid)));
    }
    match &private_key.content {
        BerObjectContent::OctetString(bytes) => Ok(bytes.to_vec()),
        _ => Err(Pkcs8Problem::Malformed),
    }
}

enum Pkcs8Problem {
    Malformed,
    NotRsa(String),
}

impl ClientCertificate {
    /// Reads `cert_file` (PEM: the certificate first, and its key unless `key_file` is given).
    /// Errors name the file and the problem, never key material. A certificate or key that is not
    /// RSA is refused: Entra would refuse every assertion it signed.
    /// Blocks for at most [`file_read::DEADLINE`] per file: for sync code (the preflight checks).
    pub(crate) fn load(cert_file: &Path, key_file: Option<&Path>) -> Result<Self, String> {
        let cert_pem = file_read::read_blocking(cert_file, cert_label(cert_file), file_read::CREDENTIAL_LIMIT)
            .map_err(|e| e.to_string())?;
        let key_pem = match key_file {
            Some(path) => Some(
                file_read::read_blocking(path, key_label(path), file_read::CREDENTIAL_LIMIT)
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        Self::parse(cert_file, &cert_pem, key_file.zip(key_pem.as_deref()))
    }

    /// [`ClientCertificate::load`] off the async runtime (a token request).
    pub(crate) async fn load_async(cert_file: &Path, key_file: Option<&Path>) -> Result<Self, String> {
        let cert_pem = file_read::read(cert_file, cert_label(cert_file), file_read::CREDENTIAL_LIMIT)
            .await
            .map_err(|e| e.to_string())?;
        let key_pem = match key_file {
            Some(path) => Some(
                file_read::read(path, key_label(path), file_read::CREDENTIAL_LIMIT).await.map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        Self::parse(cert_file, &cert_pem, key_file.zip(key_pem.as_deref()))
    }

    /// Parses the PEM of `cert_file` and, when the key is in a file of its own, that file's PEM.
    fn parse(cert_file: &Path, cert_pem: &[u8], key: Option<(&Path, &[u8])>) -> Result<Self, String> {
        let blocks = pem_blocks(cert_pem)
            .map_err(|e| format!("client_certificate_file {} is not PEM: {e}", cert_file.display()))?;
        let cert_der = blocks
            .iter()
            .find(|(label, _)| label == "CERTIFICATE")
            .map(|(_, der)| der.clone())
            .ok_or_else(|| format!("client_certificate_file {} holds no CERTIFICATE block", cert_file.display()))?;
        let (_, cert) = x509_parser::parse_x509_certificate(&cert_der).map_err(|e| {
            format!("client_certificate_file {}: cannot parse the certificate: {e}", cert_file.display())
        })?;
        let spki = cert.public_key();
        if spki.algorithm.algorithm != oid_registry::OID_PKCS1_RSAENCRYPTION {
            return Err(format!(
                "client_certificate_file {}: the certificate has {} key; {RSA_ONLY}",
                cert_file.display(),
                key_type_name(&spki.algorithm.algorithm)
            ));
        }
        if let Ok(x509_parser::public_key::PublicKey::RSA(rsa)) = spki.parsed()
            && rsa.key_size() < MIN_RSA_BITS
        {
            return Err(format!(
                "client_certificate_file {}: the certificate's RSA key has {} bits; create an RSA key of at least 2048 bits",
                cert_file.display(),
                rsa.key_size()
            ));
        }
        let (key_label, key_der, key_name, key_path) = match key {
            Some((path, pem)) => {
                let blocks = pem_blocks(pem)
                    .map_err(|_| format!("client_certificate_key_file {} is not PEM", path.display()))?;
                let (label, der) = blocks.into_iter().find(|(l, _)| l.contains("PRIVATE KEY")).ok_or_else(|| {
                    format!("client_certificate_key_file {} holds no PRIVATE KEY block", path.display())
                })?;
                (label, der, "client_certificate_key_file", path)
            }
            None => {
                let (label, der) = blocks.into_iter().find(|(l, _)| l.contains("PRIVATE KEY")).ok_or_else(|| {
                    format!(
                        "client_certificate_file {} holds no PRIVATE KEY block; add the key or set client_certificate_key_file",
                        cert_file.display()
                    )
                })?;
                (label, der, "client_certificate_file", cert_file)
            }
        };
        let fail = |what: &str| format!("{key_name} {}: {what}", key_path.display());
        // PKCS#1 RSAPrivateKey DER: what ring's RsaKeyPair::from_der takes.
        let pkcs1 = match key_label.as_str() {
            "PRIVATE KEY" => pkcs8_rsa_key(&key_der).map_err(|p| match p {
                Pkcs8Problem::Malformed => fail("the PKCS#8 key cannot be parsed"),
                Pkcs8Problem::NotRsa(kind) => fail(&format!("the private key is {kind} key; {RSA_ONLY}")),
            })?,
            "RSA PRIVATE KEY" => key_der,
            "EC PRIVATE KEY" => return Err(fail(&format!("the private key is an EC (ECDSA) key; {RSA_ONLY}"))),
            "ENCRYPTED PRIVATE KEY" => {
                return Err(fail("encrypted keys are not supported; store the key unencrypted with mode 0600"));
            }
            other => return Err(fail(&format!("unsupported key type {other:?}"))),
        };
        let pair = signature::RsaKeyPair::from_der(&pkcs1)
            .map_err(|_| fail("cannot use the RSA key (2048 bits or more are needed)"))?;
        if signature::KeyPair::public_key(&pair).as_ref() != spki.subject_public_key.data.as_ref() {
            return Err(format!(
                "{key_name} {}: the private key does not belong to the certificate in {}",
                key_path.display(),
                cert_file.display()
            ));
        }
        let validity = cert.validity();
        Ok(ClientCertificate {
            key: pair,
            thumbprint_s256: thumbprint_s256(&cert_der),
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            file: cert_file.to_path_buf(),
        })
    }

    /// The JWT `alg` of the assertions: always PS256 (RSA-PSS with SHA-256).
    pub(crate) fn algorithm(&self) -> &'static str {
        "PS256"
    }

    /// Why the certificate cannot be used at `now`, if it cannot: one line naming the file and dates.
    pub(crate) fn validity_problem(&self, now: i64) -> Option<String> {
        let dates = format!("valid from {} to {}", format_unix(self.not_before), format_unix(self.not_after));
        if now > self.not_after {
            Some(format!("client certificate {} has expired ({dates})", self.file.display()))
        } else if now < self.not_before {
            Some(format!("client certificate {} is not valid yet ({dates})", self.file.display()))
        } else {
            None
        }
    }

    /// A signed client assertion for the token endpoint `audience`.
    pub(crate) fn assertion(&self, audience: &str, client_id: &str, now: i64) -> Result<Secret, String> {
        let header = AssertionHeader { typ: "JWT", alg: self.algorithm(), x5t_s256: &self.thumbprint_s256 };
        let claims = AssertionClaims {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        };
        let fail = |what: &str| format!("cannot sign the client assertion with {}: {what}", self.file.display());
        // Serialising these two structs cannot fail (strings and integers only); no key material in
        // the message if it did.
        let header = serde_json::to_vec(&header).map_err(|e| fail(&e.to_string()))?;
        let claims = serde_json::to_vec(&claims).map_err(|e| fail(&e.to_string()))?;
        let signing_input = format!("{}.{}", b64url(&header), b64url(&claims));
        let mut sig = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&signature::RSA_PSS_SHA256, &ring::rand::SystemRandom::new(), signing_input.as_bytes(), &mut sig)
            .map_err(|_| fail("the RSA signature failed"))?;
        Ok(Secret::new(format!("{signing_input}.{}", b64url(&sig))))
    }
}

/// (label, DER) of every PEM block.
fn cert_label(path: &Path) -> String {
    format!("client_certificate_file {}", path.display())
}

fn key_label(path: &Path) -> String {
    format!("client_certificate_key_file {}", path.display())
}

fn pem_blocks(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    for block in x509_parser::pem::Pem::iter_from_buffer(bytes) {
        match block {
            Ok(p) => out.push((p.label, p.contents)),
            Err(x509_parser::error::PEMError::MissingHeader) if !out.is_empty() => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    if out.is_empty() {
        return Err("no PEM block".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_match_the_documented_example() {
        // Microsoft's certificate-credentials page: hex 84E05C1D98BCE3A5421D225B140B36E86A3D5534 →
        // hOBcHZi846VCHSJbFAs26Go9VTQ
        let sha1 = [
            0x84, 0xE0, 0x5C, 0x1D, 0x98, 0xBC, 0xE3, 0xA5, 0x42, 0x1D, 0x22, 0x5B, 0x14, 0x0B, 0x36, 0xE8, 0x6A, 0x3D,
            0x55, 0x34,
        ];
        assert_eq!(b64url(&sha1), "hOBcHZi846VCHSJbFAs26Go9VTQ");
    }

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    fn testdata(path: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata").join(path)
    }

    #[test]
    fn rsa_certificate_signs_a_ps256_assertion() {
        let (crt, key) = (testdata("web/rsa.crt"), testdata("web/rsa.key"));
        let cert = ClientCertificate::load(&crt, Some(&key)).unwrap();
        assert_eq!(cert.algorithm(), "PS256");
        assert!(!format!("{cert:?}").contains("PRIVATE"));
        let aud = "https://login.example/t/oauth2/v2.0/token";
        let now = now_unix();
        let jwt = cert.assertion(aud, "c", now).unwrap();
        let parts: Vec<&str> = jwt.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        let header_json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[0]).unwrap();
        assert_eq!(
            String::from_utf8(header_json).unwrap(),
            format!(r#"{{"typ":"JWT","alg":"PS256","x5t#S256":"{}"}}"#, cert.thumbprint_s256),
            "the bytes jsonwebtoken wrote before"
        );
        let header = decode(parts[0]);
        assert_eq!(
            header,
            serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t#S256": cert.thumbprint_s256.as_str()}),
            "exactly the documented header"
        );
        let claims = decode(parts[1]);
        assert_eq!(
            (claims["aud"].as_str(), claims["iss"].as_str(), claims["sub"].as_str()),
            (Some(aud), Some("c"), Some("c"))
        );
        assert_eq!((claims["nbf"].as_i64(), claims["iat"].as_i64()), (Some(now), Some(now)));
        assert_eq!(claims["exp"].as_i64(), Some(now + ASSERTION_LIFETIME_SECS));
        assert!(uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).is_ok());
        let second = cert.assertion(aud, "c", now).unwrap();
        assert_ne!(decode(second.expose().split('.').nth(1).unwrap())["jti"], claims["jti"], "a new jti each time");

        // The signature is RSA-PSS SHA-256 by the certificate's key, checked with ring alone.
        let pem = std::fs::read(&crt).unwrap();
        let der = pem_blocks(&pem).unwrap().remove(0).1;
        let (_, x509) = x509_parser::parse_x509_certificate(&der).unwrap();
        let public = signature::UnparsedPublicKey::new(
            &signature::RSA_PSS_2048_8192_SHA256,
            x509.public_key().subject_public_key.data.as_ref(),
        );
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        public.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig).expect("a valid PS256 signature");

        // The key alone is not a certificate file.
        let err = ClientCertificate::load(&key, None).unwrap_err();
        assert!(err.contains("no CERTIFICATE"), "{err}");
    }

    #[test]
    fn a_pkcs8_rsa_key_is_unwrapped_and_must_match_the_certificate() {
        // rsa-pkcs8.key is another key than the certificate's, as "PRIVATE KEY" (PKCS#8).
        let err = ClientCertificate::load(&testdata("web/rsa.crt"), Some(&testdata("credentials/rsa-pkcs8.key")))
            .unwrap_err();
        assert!(err.contains("does not belong to the certificate"), "parsed as an RSA key: {err}");
        assert!(err.contains("rsa-pkcs8.key") && err.contains("rsa.crt"), "{err}");
        let params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        let key =
            rcgen::KeyPair::from_pem(&std::fs::read_to_string(testdata("credentials/rsa-pkcs8.key")).unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("one.pem");
        std::fs::write(&file, format!("{}{}", params.self_signed(&key).unwrap().pem(), key.serialize_pem())).unwrap();
        let cert = ClientCertificate::load(&file, None).unwrap();
        assert!(cert.assertion("https://l/t/oauth2/v2.0/token", "c", now_unix()).is_ok());
    }

    #[test]
    fn ec_certificates_and_keys_are_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let ec_key = rcgen::KeyPair::generate().unwrap();
        let ec_cert = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap().self_signed(&ec_key).unwrap();
        let file = dir.path().join("ec.pem");
        std::fs::write(&file, format!("{}{}", ec_cert.pem(), ec_key.serialize_pem())).unwrap();
        let err = ClientCertificate::load(&file, None).unwrap_err();
        assert_eq!(
            err,
            format!(
                "client_certificate_file {}: the certificate has an EC (ECDSA) key; Entra ID accepts only RSA certificates for client assertions; create an RSA key of at least 2048 bits",
                file.display()
            )
        );
        // An RSA certificate with an EC key (PKCS#8, and SEC1 "EC PRIVATE KEY") names the key file.
        let key_file = dir.path().join("ec.key");
        std::fs::write(&key_file, ec_key.serialize_pem()).unwrap();
        let err = ClientCertificate::load(&testdata("web/rsa.crt"), Some(&key_file)).unwrap_err();
        assert!(
            err.starts_with(&format!("client_certificate_key_file {}: the private key is an EC", key_file.display())),
            "{err}"
        );
        assert!(err.contains("accepts only RSA certificates"), "{err}");
        let sec1 = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----\n";
        std::fs::write(&key_file, sec1).unwrap();
        let err = ClientCertificate::load(&testdata("web/rsa.crt"), Some(&key_file)).unwrap_err();
        assert!(err.contains("EC (ECDSA) key") && err.contains("at least 2048 bits"), "{err}");
        assert!(!err.contains("MHcC"), "{err}");
    }
}
