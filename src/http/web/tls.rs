//! The rustls server configuration: certificate and key re-read when the files change (checked at
//! most once per second, on new connections), TLS version bounds and client-certificate policies.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::DigitallySignedStruct;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DistinguishedName, RootCertStore, ServerConfig, SignatureScheme};

use super::config::{ClientAuth, TlsSettings, TlsVersion};

const CHECK_EVERY: Duration = Duration::from_secs(1);

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the server configuration; loads the certificate, key and client CA now, so that a broken
/// file is a startup error. Errors are `key: reason`, without file contents.
pub(super) fn server_config(t: &TlsSettings) -> Result<Arc<ServerConfig>, String> {
    let provider = provider();
    let resolver = ReloadingResolver::new(t.cert_file.clone(), t.key_file.clone(), provider.clone())?;
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(TlsVersion::Tls12, &rustls::version::TLS12), (TlsVersion::Tls13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (t.min_version..=t.max_version).contains(v))
            .map(|(_, p)| p)
            .collect();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config.min_version: {e}"))?;
    let verifier: Option<Arc<dyn ClientCertVerifier>> = match t.client_auth {
        ClientAuth::NoClientCert => None,
        ClientAuth::RequestClientCert => Some(Arc::new(AnyClientCert { mandatory: false, provider: provider.clone() })),
        ClientAuth::RequireAnyClientCert => {
            Some(Arc::new(AnyClientCert { mandatory: true, provider: provider.clone() }))
        }
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert => {
            let ca = t.client_ca_file.as_deref().ok_or("tls_server_config.client_ca_file: required")?;
            let roots = load_roots(ca)?;
            let b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let b = if t.client_auth == ClientAuth::VerifyClientCertIfGiven { b.allow_unauthenticated() } else { b };
            Some(b.build().map_err(|e| format!("tls_server_config.client_ca_file: {e}"))?)
        }
    };
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn load_roots(path: &Path) -> Result<RootCertStore, String> {
    let key = "tls_server_config.client_ca_file";
    let bytes = std::fs::read(path).map_err(|e| format!("{key}: cannot read {}: {e}", path.display()))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let cert = cert.map_err(|e| format!("{key}: {}: invalid PEM: {e}", path.display()))?;
        roots.add(cert).map_err(|e| format!("{key}: {}: invalid CA certificate: {e}", path.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("{key}: {} holds no PEM certificate", path.display()));
    }
    Ok(roots)
}

/// The certificate file's bytes, the key file's bytes and the checked pair.
type LoadedPair = (Vec<u8>, Vec<u8>, Arc<CertifiedKey>);

/// Reads and checks the pair; errors name the key and the file, never the contents.
fn load_pair(cert_file: &Path, key_file: &Path, provider: &CryptoProvider) -> Result<LoadedPair, String> {
    let cert_bytes = std::fs::read(cert_file)
        .map_err(|e| format!("tls_server_config.cert_file: cannot read {}: {e}", cert_file.display()))?;
    let key_bytes = std::fs::read(key_file)
        .map_err(|e| format!("tls_server_config.key_file: cannot read {}: {e}", key_file.display()))?;
    let certified = certified_key(&cert_bytes, &key_bytes, cert_file, key_file, provider)?;
    Ok((cert_bytes, key_bytes, certified))
}

fn certified_key(
    cert: &[u8],
    key: &[u8],
    cert_file: &Path,
    key_file: &Path,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, String> {
    let chain = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("tls_server_config.cert_file: {}: invalid PEM: {e}", cert_file.display()))?;
    if chain.is_empty() {
        return Err(format!("tls_server_config.cert_file: {} holds no PEM certificate", cert_file.display()));
    }
    // The error type of the PEM parser describes the structure, never the bytes.
    let key_der = PrivateKeyDer::from_pem_slice(key).map_err(|_| {
        format!(
            "tls_server_config.key_file: {} holds no usable PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC)",
            key_file.display()
        )
    })?;
    let signing = provider.key_provider.load_private_key(key_der).map_err(|_| {
        format!("tls_server_config.key_file: {}: unsupported or invalid private key", key_file.display())
    })?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|_| {
        format!(
            "tls_server_config.key_file: {} does not match the certificate in {}",
            key_file.display(),
            cert_file.display()
        )
    })?;
    Ok(Arc::new(certified))
}

struct Current {
    checked: Instant,
    cert_bytes: Vec<u8>,
    key_bytes: Vec<u8>,
    certified: Arc<CertifiedKey>,
    /// The last failed pair's error, so a broken rotation is logged once, not per connection.
    last_error: Option<String>,
}

/// Serves the certificate in `cert_file`/`key_file`; on a handshake, at most once per
/// [`CHECK_EVERY`], re-reads both files and switches to the new pair when it changed and is valid.
/// A half-written or mismatched pair keeps the previous one and is retried later.
pub(super) struct ReloadingResolver {
    cert_file: PathBuf,
    key_file: PathBuf,
    provider: Arc<CryptoProvider>,
    current: Mutex<Current>,
}

impl fmt::Debug for ReloadingResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingResolver")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .finish()
    }
}

impl ReloadingResolver {
    fn new(cert_file: PathBuf, key_file: PathBuf, provider: Arc<CryptoProvider>) -> Result<Self, String> {
        let (cert_bytes, key_bytes, certified) = load_pair(&cert_file, &key_file, &provider)?;
        let current = Current { checked: Instant::now(), cert_bytes, key_bytes, certified, last_error: None };
        Ok(Self { cert_file, key_file, provider, current: Mutex::new(current) })
    }

    fn current(&self) -> Arc<CertifiedKey> {
        let mut cur = match self.current.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if cur.checked.elapsed() >= CHECK_EVERY {
            cur.checked = Instant::now();
            self.refresh(&mut cur);
        }
        cur.certified.clone()
    }

    fn refresh(&self, cur: &mut Current) {
        let (Ok(cert), Ok(key)) = (std::fs::read(&self.cert_file), std::fs::read(&self.key_file)) else {
            self.note_error(cur, "cannot read the certificate or key file".to_string());
            return;
        };
        if cert == cur.cert_bytes && key == cur.key_bytes {
            return;
        }
        match certified_key(&cert, &key, &self.cert_file, &self.key_file, &self.provider) {
            Ok(certified) => {
                cur.certified = certified;
                cur.cert_bytes = cert;
                cur.key_bytes = key;
                cur.last_error = None;
                tracing::info!(cert_file = %self.cert_file.display(), "TLS certificate reloaded");
            }
            Err(e) => self.note_error(cur, e),
        }
    }

    fn note_error(&self, cur: &mut Current, e: String) {
        if cur.last_error.as_deref() != Some(e.as_str()) {
            tracing::warn!(
                cert_file = %self.cert_file.display(),
                error = %e,
                "cannot reload the TLS certificate; still serving the previous one"
            );
            cur.last_error = Some(e);
        }
    }
}

impl ResolvesServerCert for ReloadingResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// `RequestClientCert` / `RequireAnyClientCert`: asks for a certificate, checks only that the client
/// holds its key (the handshake signature), not who issued it.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
