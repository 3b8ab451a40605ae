//! Client assertions (graph-api.md 11.3): a certificate and its private key, read from PEM files,
//! sign a short-lived JWT that replaces the client secret. Signing uses ring (already rustls'
//! provider): RSA keys sign PS256 (the current Entra documentation), ECDSA P-256 keys ES256.
//! The header carries `x5t#S256`, the base64url SHA-256 thumbprint of the DER certificate.
//!
//! Neither the key nor an assertion ever reaches a log line or an error message.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use ring::rand::SystemRandom;
use ring::{digest, signature};

use crate::config::Secret;

/// `client_assertion_type` of certificate and federated assertions (RFC 7523).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Lifetime of an assertion: Entra recommends 5 to 10 minutes; it is used once, at once.
pub const ASSERTION_LIFETIME_SECS: i64 = 300;

enum SigningKey {
    Rsa(signature::RsaKeyPair),
    Ecdsa(signature::EcdsaKeyPair),
}

/// A certificate with its private key, ready to sign assertions.
pub struct ClientCertificate {
    key: SigningKey,
    /// base64url(SHA-256(DER certificate)): the `x5t#S256` header.
    pub thumbprint_s256: String,
    /// Unix seconds of notBefore and notAfter.
    pub not_before: i64,
    pub not_after: i64,
    /// The certificate file, for messages.
    pub file: PathBuf,
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

pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `x5t#S256` of a DER certificate.
pub fn thumbprint_s256(der: &[u8]) -> String {
    b64url(digest::digest(&digest::SHA256, der).as_ref())
}

/// `x5t` (SHA-1) of a DER certificate, which older clients send with RS256.
pub fn thumbprint_sha1(der: &[u8]) -> String {
    b64url(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref())
}

/// RFC 3339 UTC for messages.
pub fn format_unix(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl ClientCertificate {
    /// Reads `cert_file` (PEM: the certificate first, and its key unless `key_file` is given).
    /// Errors name the file and the problem, never key material.
    pub fn load(cert_file: &Path, key_file: Option<&Path>) -> Result<Self, String> {
        let cert_pem = std::fs::read(cert_file)
            .map_err(|e| format!("cannot read client_certificate_file {}: {e}", cert_file.display()))?;
        let blocks = pem_blocks(&cert_pem)
            .map_err(|e| format!("client_certificate_file {} is not PEM: {e}", cert_file.display()))?;
        let cert_der = blocks
            .iter()
            .find(|(label, _)| label == "CERTIFICATE")
            .map(|(_, der)| der.clone())
            .ok_or_else(|| format!("client_certificate_file {} holds no CERTIFICATE block", cert_file.display()))?;
        let (_, cert) = x509_parser::parse_x509_certificate(&cert_der).map_err(|e| {
            format!("client_certificate_file {}: cannot parse the certificate: {e}", cert_file.display())
        })?;
        let (key_label, key_der, key_name, key_path) = match key_file {
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("cannot read client_certificate_key_file {}: {e}", path.display()))?;
                let blocks = pem_blocks(&pem)
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
        let rng = SystemRandom::new();
        let key = match key_label.as_str() {
            "PRIVATE KEY" => match signature::RsaKeyPair::from_pkcs8(&key_der) {
                Ok(k) => SigningKey::Rsa(k),
                Err(_) => {
                    signature::EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &key_der, &rng)
                        .map(SigningKey::Ecdsa)
                        .map_err(|_| fail("the PKCS#8 key is neither RSA (2048 bits or more) nor ECDSA P-256"))?
                }
            },
            "RSA PRIVATE KEY" => signature::RsaKeyPair::from_der(&key_der)
                .map(SigningKey::Rsa)
                .map_err(|_| fail("cannot use the RSA key (2048 bits or more are needed)"))?,
            "EC PRIVATE KEY" => {
                return Err(fail(
                    "SEC1 EC keys are not supported; convert with `openssl pkcs8 -topk8 -nocrypt -in key.pem -out key.pk8.pem`",
                ));
            }
            "ENCRYPTED PRIVATE KEY" => {
                return Err(fail("encrypted keys are not supported; store the key unencrypted with mode 0600"));
            }
            other => return Err(fail(&format!("unsupported key type {other:?}"))),
        };
        let public = match &key {
            SigningKey::Rsa(k) => signature::KeyPair::public_key(k).as_ref().to_vec(),
            SigningKey::Ecdsa(k) => signature::KeyPair::public_key(k).as_ref().to_vec(),
        };
        if public != cert.public_key().subject_public_key.data.as_ref() {
            return Err(format!(
                "{key_name} {}: the private key does not belong to the certificate in {}",
                key_path.display(),
                cert_file.display()
            ));
        }
        let validity = cert.validity();
        Ok(ClientCertificate {
            key,
            thumbprint_s256: thumbprint_s256(&cert_der),
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            file: cert_file.to_path_buf(),
        })
    }

    pub fn algorithm(&self) -> &'static str {
        match self.key {
            SigningKey::Rsa(_) => "PS256",
            SigningKey::Ecdsa(_) => "ES256",
        }
    }

    /// Why the certificate cannot be used at `now`, if it cannot: one line naming the file and dates.
    pub fn validity_problem(&self, now: i64) -> Option<String> {
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
    pub fn assertion(&self, audience: &str, client_id: &str, now: i64) -> Result<Secret, String> {
        let header = serde_json::json!({
            "alg": self.algorithm(),
            "typ": "JWT",
            "x5t#S256": self.thumbprint_s256,
        });
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let signing_input =
            format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()));
        let rng = SystemRandom::new();
        let sig = match &self.key {
            SigningKey::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(&signature::RSA_PSS_SHA256, &rng, signing_input.as_bytes(), &mut sig)
                    .map_err(|_| "cannot sign the client assertion".to_string())?;
                sig
            }
            SigningKey::Ecdsa(k) => k
                .sign(&rng, signing_input.as_bytes())
                .map_err(|_| "cannot sign the client assertion".to_string())?
                .as_ref()
                .to_vec(),
        };
        Ok(Secret::new(format!("{signing_input}.{}", b64url(&sig))))
    }
}

/// (label, DER) of every PEM block.
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
        // graph-api.md 11.3: hex 84E05C1D98BCE3A5421D225B140B36E86A3D5534 → hOBcHZi846VCHSJbFAs26Go9VTQ
        let sha1 = [
            0x84, 0xE0, 0x5C, 0x1D, 0x98, 0xBC, 0xE3, 0xA5, 0x42, 0x1D, 0x22, 0x5B, 0x14, 0x0B, 0x36, 0xE8, 0x6A, 0x3D,
            0x55, 0x34,
        ];
        assert_eq!(b64url(&sha1), "hOBcHZi846VCHSJbFAs26Go9VTQ");
    }

    #[test]
    fn rsa_certificate_signs_a_ps256_assertion() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/web");
        let cert = ClientCertificate::load(&dir.join("rsa.crt"), Some(&dir.join("rsa.key"))).unwrap();
        assert_eq!(cert.algorithm(), "PS256");
        assert!(!format!("{cert:?}").contains("PRIVATE"));
        let jwt = cert.assertion("https://login.example/t/oauth2/v2.0/token", "c", now_unix()).unwrap();
        let parts: Vec<&str> = jwt.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[0]).unwrap())
                .unwrap();
        assert_eq!(header["alg"], "PS256");
        assert_eq!(header["x5t#S256"], cert.thumbprint_s256.as_str());
        // The key alone is not a certificate file.
        let err = ClientCertificate::load(&dir.join("rsa.key"), None).unwrap_err();
        assert!(err.contains("no CERTIFICATE"), "{err}");
    }
}
