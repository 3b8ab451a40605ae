//! The rustls server configuration: certificate and key re-read when their files change (checked
//! at most once per second, on new connections), TLS version bounds, the cipher suites and curves
//! named by their Go names, and client-certificate policies with exporter-toolkit's SAN check.

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use rustls::DigitallySignedStruct;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, SupportedKxGroup};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{CertificateError, DistinguishedName, NamedGroup, RootCertStore, ServerConfig, SignatureScheme};

use super::config::{ClientAuth, Curve, Pem, TlsSettings, TlsVersion};

const CHECK_EVERY: Duration = Duration::from_secs(1);
const KEY: &str = "tls_server_config";

/// Builds the server configuration; loads the certificate, key and client CA now, so that a broken
/// file is a startup error. Errors are `key: reason`, without key material; what the file asks
/// for that rustls cannot do and is left out goes to `warnings`.
/// The returned expiry is the serving certificate's notAfter (Unix seconds), kept current across
/// rotations, for `entra_authmethods_web_tls_certificate_expiry_timestamp_seconds`.
pub(super) fn server_config(
    t: &TlsSettings,
    warnings: &mut Vec<String>,
) -> Result<(Arc<ServerConfig>, Arc<AtomicI64>), String> {
    let provider = Arc::new(provider(t, warnings)?);
    let resolver = ReloadingResolver::new(t.cert.clone(), t.key.clone(), provider.clone())?;
    let not_after = resolver.not_after.clone();
    let (ck, _) = where_is(&t.cert, "cert_file", "cert");
    if let Some(w) = validity_warning(&resolver.current().cert, unix_now()) {
        warnings.push(format!("{KEY}.{ck}: {w}"));
    }
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(TlsVersion::Tls12, &rustls::version::TLS12), (TlsVersion::Tls13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (t.min_version..=t.max_version).contains(v))
            .map(|(_, p)| p)
            .collect();
    let builder =
        ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(&versions).map_err(|e| {
            if t.cipher_suites.is_some() {
                format!("{KEY}.cipher_suites: no listed suite is usable with the TLS versions allowed ({e})")
            } else {
                format!("{KEY}.min_version: {e}")
            }
        })?;
    let builder = match client_verifier(t, &provider, warnings)? {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(resolver);
    // HTTP/1.1 only, whatever `http2` says: see docs/web-config.md.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), not_after))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// notBefore and notAfter (Unix seconds) of the chain's first certificate, the one clients check.
fn validity(chain: &[CertificateDer<'_>]) -> Option<(i64, i64)> {
    let (_, cert) = x509_parser::parse_x509_certificate(chain.first()?.as_ref()).ok()?;
    Some((cert.validity().not_before.timestamp(), cert.validity().not_after.timestamp()))
}

/// What to say when the serving certificate is expired or not yet valid at `now`: clients refuse it
/// either way, which the exporter cannot see (the handshake fails on their side).
fn validity_warning(chain: &[CertificateDer<'_>], now: i64) -> Option<String> {
    let (not_before, not_after) = validity(chain)?;
    let date = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .ok()
            .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_else(|| t.to_string())
    };
    if now > not_after {
        Some(format!("the serving certificate expired at {}; TLS clients refuse it: replace it", date(not_after)))
    } else if now < not_before {
        Some(format!(
            "the serving certificate is not valid before {}; TLS clients refuse it until then",
            date(not_before)
        ))
    } else {
        None
    }
}

/// ring's provider narrowed to the file's `cipher_suites` and `curve_preferences`.
fn provider(t: &TlsSettings, warnings: &mut Vec<String>) -> Result<CryptoProvider, String> {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(listed) = &t.cipher_suites {
        // Go applies cipher_suites to TLS 1.2 only ("TLS 1.3 ciphersuites are not configurable"),
        // so every TLS 1.3 suite stays and the listed TLS 1.2 ones are taken in the file's order.
        let all = rustls::crypto::ring::ALL_CIPHER_SUITES;
        let mut suites: Vec<_> = all.iter().filter(|s| s.tls13().is_some()).copied().collect();
        let mut tls12_listed = false;
        let mut missing = Vec::new();
        for s in listed {
            if s.is_tls13() {
                continue;
            }
            tls12_listed = true;
            match all.iter().find(|c| u16::from(c.suite()) == s.id) {
                Some(c) if !suites.iter().any(|x| x.suite() == c.suite()) => suites.push(*c),
                Some(_) => {}
                None => missing.push(s.name),
            }
        }
        let tls12_on = t.min_version <= TlsVersion::Tls12;
        let tls12_kept = suites.iter().any(|s| s.tls13().is_none());
        if let Some(first) = missing.first()
            && tls12_on
            && !tls12_kept
        {
            return Err(format!(
                "{KEY}.cipher_suites: {first} is not offered by rustls (it has no CBC suites) and no other TLS 1.2 suite is listed"
            ));
        }
        for name in missing {
            warnings.push(format!("{KEY}.cipher_suites: {name} left out, rustls does not offer it (no CBC suites)"));
        }
        if tls12_on && !tls12_listed {
            warnings.push(format!(
                "{KEY}.cipher_suites: lists no TLS 1.2 suite, so TLS 1.2 clients cannot connect (as with Go)"
            ));
        }
        provider.cipher_suites = suites;
    }
    if let Some(curves) = &t.curve_preferences {
        let mut groups: Vec<&'static dyn SupportedKxGroup> = Vec::new();
        let mut missing = Vec::new();
        for &c in curves {
            let name = match c {
                Curve::CurveP256 => NamedGroup::secp256r1,
                Curve::CurveP384 => NamedGroup::secp384r1,
                Curve::CurveP521 => NamedGroup::secp521r1,
                Curve::X25519 => NamedGroup::X25519,
            };
            match rustls::crypto::ring::ALL_KX_GROUPS.iter().find(|g| g.name() == name) {
                Some(g) if !groups.iter().any(|x| x.name() == name) => groups.push(*g),
                Some(_) => {}
                None => missing.push(format!("{c:?}")),
            }
        }
        if let Some(first) = missing.first()
            && groups.is_empty()
        {
            return Err(format!(
                "{KEY}.curve_preferences: {first} is not offered by rustls (ring has no P-521) and no other curve is listed"
            ));
        }
        for name in missing {
            warnings.push(format!("{KEY}.curve_preferences: {name} left out, rustls does not offer it"));
        }
        provider.kx_groups = groups;
    }
    Ok(provider)
}

/// The client-certificate policy, as Go's `tls.Config` with exporter-toolkit's
/// `VerifyPeerCertificate` (the SAN check) does it.
fn client_verifier(
    t: &TlsSettings,
    provider: &Arc<CryptoProvider>,
    warnings: &mut Vec<String>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, String> {
    let chain = match t.client_auth {
        ClientAuth::NoClientCert => return Ok(None),
        ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert => Chain::Any,
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert => {
            let (roots, hints) = match &t.client_ca {
                Some(pem) => (load_roots(pem)?, true),
                None => (system_roots(), false),
            };
            if roots.is_empty() {
                warnings.push(format!(
                    "{KEY}.client_ca_file: not set and the system's trust store is empty, so every client certificate is refused"
                ));
                Chain::NoRoots
            } else {
                let b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .allow_unauthenticated();
                // Go names no CA in its certificate request when ClientCAs is nil; hundreds of
                // system CAs would only bloat the handshake.
                let b = if hints { b } else { b.clear_root_hint_subjects() };
                Chain::Verify(b.build().map_err(|e| format!("{KEY}.client_ca_file: {e}"))?)
            }
        }
    };
    // The toolkit's SAN check fails on a missing certificate too (Go calls it whenever it asked
    // for one), so with client_allowed_sans a certificate is required.
    let mandatory = matches!(t.client_auth, ClientAuth::RequireAnyClientCert | ClientAuth::RequireAndVerifyClientCert)
        || t.client_allowed_sans.is_some();
    Ok(Some(Arc::new(ClientPolicy {
        chain,
        mandatory,
        allowed_sans: t.client_allowed_sans.clone(),
        provider: provider.clone(),
    })))
}

fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    // Unreadable or unparsable entries are skipped, as Go's system pool does.
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    roots
}

/// The `client_ca_file`/`client_ca` key and where the PEM is, for errors.
fn where_is(pem: &Pem, file_key: &'static str, inline_key: &'static str) -> (&'static str, String) {
    match pem {
        Pem::File(p) => (file_key, p.display().to_string()),
        Pem::Inline(_) => (inline_key, "the inline text".to_string()),
    }
}

/// The PEM's bytes; a file is read with [`crate::file_read`] (regular files only, at most 1 MiB,
/// within its deadline). The error names the file: `cannot read FILE: …` or `FILE: …`.
fn read(pem: &Pem) -> Result<Vec<u8>, String> {
    use crate::file_read::{self, Problem};
    match pem {
        Pem::File(p) => {
            file_read::read_blocking(p, p.display().to_string(), file_read::CREDENTIAL_LIMIT).map_err(|e| {
                match e.problem {
                    Problem::Io { message, .. } => format!("cannot read {}: {message}", p.display()),
                    other => format!("{}: {other}", p.display()),
                }
            })
        }
        Pem::Inline(s) => Ok(s.as_bytes().to_vec()),
    }
}

fn load_roots(pem: &Pem) -> Result<RootCertStore, String> {
    let (key, at) = where_is(pem, "client_ca_file", "client_ca");
    let bytes = read(pem).map_err(|e| format!("{KEY}.{key}: {e}"))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let cert = cert.map_err(|e| format!("{KEY}.{key}: {at}: invalid PEM: {e}"))?;
        roots.add(cert).map_err(|e| format!("{KEY}.{key}: {at}: invalid CA certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("{KEY}.{key}: {at} holds no PEM certificate"));
    }
    Ok(roots)
}

/// The certificate's bytes, the key's bytes and the checked pair.
type LoadedPair = (Vec<u8>, Vec<u8>, Arc<CertifiedKey>);

/// Reads and checks the pair; errors name the key and the file, never the contents.
fn load_pair(cert: &Pem, key: &Pem, provider: &CryptoProvider) -> Result<LoadedPair, String> {
    let (ck, _) = where_is(cert, "cert_file", "cert");
    let (kk, _) = where_is(key, "key_file", "key");
    let cert_bytes = read(cert).map_err(|e| format!("{KEY}.{ck}: {e}"))?;
    let key_bytes = read(key).map_err(|e| format!("{KEY}.{kk}: {e}"))?;
    let certified = certified_key(&cert_bytes, &key_bytes, cert, key, provider)?;
    Ok((cert_bytes, key_bytes, certified))
}

fn certified_key(
    cert_bytes: &[u8],
    key_bytes: &[u8],
    cert: &Pem,
    key: &Pem,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, String> {
    let (ck, cat) = where_is(cert, "cert_file", "cert");
    let (kk, kat) = where_is(key, "key_file", "key");
    let chain = CertificateDer::pem_slice_iter(cert_bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{KEY}.{ck}: {cat}: invalid PEM: {e}"))?;
    if chain.is_empty() {
        return Err(format!("{KEY}.{ck}: {cat} holds no PEM certificate"));
    }
    // Neither error below quotes the key: the PEM parser's error could hold one of its lines.
    let key_der = PrivateKeyDer::from_pem_slice(key_bytes)
        .map_err(|_| format!("{KEY}.{kk}: {kat} holds no usable PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC)"))?;
    let signing = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|_| format!("{KEY}.{kk}: {kat}: unsupported or invalid private key"))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|_| format!("{KEY}.{kk}: {kat} does not match the certificate in {cat}"))?;
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

/// Serves the configured certificate; on a handshake, at most once per [`CHECK_EVERY`], re-reads
/// the files among `cert`/`key` and switches to the new pair when it changed and is valid. A
/// half-written or mismatched pair keeps the previous one and is retried later. Inline text is
/// never re-read: it changes only with the web config, which is read at start. The files are read
/// on a thread of their own, never in the handshake: it serves the current pair at once, and a
/// later handshake gets the new one (a file on a hung mount cannot stall the server).
pub(super) struct ReloadingResolver {
    me: Weak<ReloadingResolver>,
    /// A re-read is under way.
    refreshing: AtomicBool,
    cert: Pem,
    key: Pem,
    provider: Arc<CryptoProvider>,
    current: Mutex<Current>,
    /// notAfter of the certificate being served (Unix seconds; `i64::MIN` when it has none).
    not_after: Arc<AtomicI64>,
}

impl fmt::Debug for ReloadingResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `Pem`'s Debug never shows inline text.
        f.debug_struct("ReloadingResolver").field("cert", &self.cert).field("key", &self.key).finish()
    }
}

impl ReloadingResolver {
    fn new(cert: Pem, key: Pem, provider: Arc<CryptoProvider>) -> Result<Arc<Self>, String> {
        let (cert_bytes, key_bytes, certified) = load_pair(&cert, &key, &provider)?;
        let not_after = Arc::new(AtomicI64::new(validity(&certified.cert).map_or(i64::MIN, |(_, end)| end)));
        let current = Current { checked: Instant::now(), cert_bytes, key_bytes, certified, last_error: None };
        Ok(Arc::new_cyclic(|me| Self {
            me: me.clone(),
            refreshing: AtomicBool::new(false),
            cert,
            key,
            provider,
            current: Mutex::new(current),
            not_after,
        }))
    }

    fn reloads(&self) -> bool {
        matches!(self.cert, Pem::File(_)) || matches!(self.key, Pem::File(_))
    }

    fn current(&self) -> Arc<CertifiedKey> {
        let mut cur = match self.current.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if self.reloads()
            && cur.checked.elapsed() >= CHECK_EVERY
            && let Some(me) = self.me.upgrade()
            && !self.refreshing.swap(true, Ordering::AcqRel)
        {
            cur.checked = Instant::now();
            let spawned = std::thread::Builder::new().name("tls-reload".into()).spawn(move || {
                me.refresh();
                me.refreshing.store(false, Ordering::Release);
            });
            if spawned.is_err() {
                self.refreshing.store(false, Ordering::Release);
            }
        }
        cur.certified.clone()
    }

    fn refresh(&self) {
        let files = read(&self.cert).and_then(|cert| Ok((cert, read(&self.key)?)));
        let mut cur = match self.current.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let cur = &mut *cur;
        let (cert, key) = match files {
            Ok(files) => files,
            Err(e) => {
                self.note_error(cur, format!("cannot read the certificate or key file: {e}"));
                return;
            }
        };
        if cert == cur.cert_bytes && key == cur.key_bytes {
            return;
        }
        match certified_key(&cert, &key, &self.cert, &self.key, &self.provider) {
            Ok(certified) => {
                self.not_after.store(validity(&certified.cert).map_or(i64::MIN, |(_, end)| end), Ordering::Relaxed);
                if let Some(w) = validity_warning(&certified.cert, unix_now()) {
                    tracing::warn!(cert = ?self.cert, "TLS certificate reloaded, but {w}");
                }
                cur.certified = certified;
                cur.cert_bytes = cert;
                cur.key_bytes = key;
                cur.last_error = None;
                tracing::info!(cert = ?self.cert, "TLS certificate reloaded");
            }
            Err(e) => self.note_error(cur, e),
        }
    }

    fn note_error(&self, cur: &mut Current, e: String) {
        if cur.last_error.as_deref() != Some(e.as_str()) {
            tracing::warn!(
                cert = ?self.cert,
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

/// How a presented client certificate's chain is checked.
enum Chain {
    /// `RequestClientCert` / `RequireAnyClientCert`: not at all; the handshake signature still
    /// proves the client holds the certificate's key.
    Any,
    Verify(Arc<dyn ClientCertVerifier>),
    /// A verifying policy with no trust anchor at all: nothing can verify.
    NoRoots,
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Chain::Any => "Any",
            Chain::Verify(_) => "Verify",
            Chain::NoRoots => "NoRoots",
        })
    }
}

/// A client-certificate policy: the chain check, whether a certificate is required, and
/// exporter-toolkit's `client_allowed_sans`.
#[derive(Debug)]
struct ClientPolicy {
    chain: Chain,
    mandatory: bool,
    allowed_sans: Option<Vec<String>>,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for ClientPolicy {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        match &self.chain {
            Chain::Verify(v) => v.root_hint_subjects(),
            _ => &[],
        }
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match &self.chain {
            Chain::Any => {}
            Chain::Verify(v) => {
                v.verify_client_cert(end_entity, intermediates, now)?;
            }
            Chain::NoRoots => return Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)),
        }
        if let Some(allowed) = &self.allowed_sans
            && !has_allowed_san(end_entity, allowed)
        {
            return Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure));
        }
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

/// exporter-toolkit's SAN check: one of the certificate's DNS names, e-mail addresses, IP
/// addresses or URIs equals an entry exactly. IP addresses are compared in Go's text form (an
/// IPv4-mapped IPv6 address as dotted IPv4).
fn has_allowed_san(cert: &CertificateDer<'_>, allowed: &[String]) -> bool {
    use x509_parser::extensions::GeneralName;
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return false;
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return false;
    };
    san.value.general_names.iter().any(|name| {
        let value = match name {
            GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => s.to_string(),
            GeneralName::IPAddress(bytes) => match ip_text(bytes) {
                Some(ip) => ip,
                None => return false,
            },
            _ => return false,
        };
        allowed.contains(&value)
    })
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    let ip = match bytes.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?),
        16 => {
            let v6 = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?);
            v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6))
        }
        _ => return None,
    };
    Some(ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_text_form_of_san_addresses() {
        assert_eq!(ip_text(&[127, 0, 0, 1]).as_deref(), Some("127.0.0.1"));
        let mapped = std::net::Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped().octets();
        assert_eq!(ip_text(&mapped).as_deref(), Some("10.0.0.1"));
        assert_eq!(ip_text(&std::net::Ipv6Addr::LOCALHOST.octets()).as_deref(), Some("::1"));
        assert_eq!(ip_text(&[1, 2, 3]), None);
    }

    #[test]
    fn every_go_cipher_suite_is_known_to_rustls_or_is_cbc() {
        for (name, id) in super::super::config::GO_CIPHER_SUITES {
            let offered = rustls::crypto::ring::ALL_CIPHER_SUITES.iter().any(|s| u16::from(s.suite()) == id);
            assert_eq!(offered, !name.contains("_CBC_"), "{name}");
        }
    }
}
