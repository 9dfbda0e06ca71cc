//! TLS (RFC 3261 §26.2.1, `sips:`; default port 5061, §19.1.2): configuration from
//! PEM files, the listener's handshake, and outgoing connections.
//!
//! A TLS connection is a TCP connection with rustls in between; once the handshake is
//! done it is framed and read exactly like TCP ([`crate::tcp`]), and it sits in the same
//! connection table (keyed by protocol, so a TCP and a TLS connection to one peer never
//! stand in for each other).
//!
//! The handshake runs in the connection's own task with a time limit, never in the
//! accept loop: a client that connects and says nothing must not stop others from
//! connecting. A failed handshake is logged, counted
//! ([`crate::Transports::tls_handshake_failures`]) and the socket dropped. That task
//! is not in the connection table until the handshake is done, so it also ends when
//! the transports are dropped (`Shared::closed`): a client holding a handshake open
//! must not keep a socket, or a connection registered after the shutdown, alive.
//!
//! Only rustls's own crypto provider (`ring`) is used, and only TLS 1.2 and 1.3: TLS
//! 1.0/1.1 are deprecated by RFC 8996 and SSL 2/3 by RFC 6176 / RFC 7568, and rustls
//! implements none of them, so a configuration asking for one is refused with an error
//! rather than silently given something else.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types;
use tokio_rustls::rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme,
};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::connections::{Connection, Writer};
use crate::tcp::Origin;
use crate::{tcp, Protocol, Shared};

/// Which TLS versions a transport offers (Asterisk's `method`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsVersions {
    /// TLS 1.2 and 1.3 (`method=default`, `unspecified`, `sslv23`).
    #[default]
    Default,
    /// TLS 1.2 only (`method=tlsv1_2`).
    Tls12,
    /// TLS 1.3 only (`method=tlsv1_3`).
    Tls13,
}

/// What a TLS transport is configured with: file names and switches, as in
/// `pjsip.conf` (spec §2.1). [`TlsConfig::load`] reads the files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificate chain, leaf first (`cert_file`). Required to listen.
    pub cert_file: Option<PathBuf>,
    /// PEM private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC) (`priv_key_file`). Unencrypted:
    /// rustls does not decrypt keys (see [`TlsSettings::password`]).
    pub priv_key_file: Option<PathBuf>,
    /// PEM file of trusted CA certificates (`ca_list_file`): roots for verifying servers
    /// we connect to and clients that present a certificate.
    pub ca_list_file: Option<PathBuf>,
    /// A directory of PEM CA files (`ca_list_path`); every file in it that holds
    /// certificates is read (OpenSSL's hashed `<hash>.0` names included).
    pub ca_list_path: Option<PathBuf>,
    /// `password` for an encrypted key. Not supported: a non-empty value only logs a
    /// warning, and an encrypted key is refused with an error saying so.
    pub password: Option<String>,
    /// Versions offered.
    pub versions: TlsVersions,
    /// Verify the certificate of servers we connect to (`verify_server`, default no, as
    /// Asterisk). Needs `ca_list_file` or `ca_list_path`.
    pub verify_server: bool,
    /// Verify a client certificate when one is presented (`verify_client`).
    pub verify_client: bool,
    /// Refuse clients that present no (valid) certificate (`require_client_cert`).
    pub require_client_cert: bool,
}

/// A TLS configuration error: what is wrong and, when a file is to blame, which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError {
    /// The option the file came from (`cert_file`, …), with the file, if any.
    pub file: Option<(&'static str, PathBuf)>,
    /// What is wrong.
    pub message: String,
}

impl TlsError {
    fn new(message: impl Into<String>) -> TlsError {
        TlsError {
            file: None,
            message: message.into(),
        }
    }

    fn file(option: &'static str, path: &Path, message: impl Into<String>) -> TlsError {
        TlsError {
            file: Some((option, path.to_path_buf())),
            message: message.into(),
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some((option, path)) => write!(f, "{option} {}: {}", path.display(), self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for TlsError {}

/// A loaded TLS configuration: the server side for the listener and the client side
/// for connections we open. Cheap to clone.
///
/// Two `TlsConfig`s are equal when they are clones of one loaded configuration.
#[derive(Clone)]
pub struct TlsConfig {
    pub(crate) server: Option<Arc<ServerConfig>>,
    pub(crate) client: Arc<ClientConfig>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("server", &self.server.is_some())
            .finish_non_exhaustive()
    }
}

impl PartialEq for TlsConfig {
    fn eq(&self, other: &TlsConfig) -> bool {
        Arc::ptr_eq(&self.client, &other.client)
            && match (&self.server, &other.server) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }
}

impl Eq for TlsConfig {}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn versions(v: TlsVersions) -> &'static [&'static rustls::SupportedProtocolVersion] {
    static TLS12: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
    static TLS13: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
    match v {
        TlsVersions::Default => rustls::ALL_VERSIONS,
        TlsVersions::Tls12 => &TLS12,
        TlsVersions::Tls13 => &TLS13,
    }
}

impl TlsConfig {
    /// Reads the files named in `settings` and builds both sides.
    ///
    /// The server side needs `cert_file` and `priv_key_file`; without them only the
    /// client side is built (and [`crate::Transports::bind`] refuses to listen with it).
    /// `verify_server` needs CA roots; `verify_client` or `require_client_cert` too.
    pub fn load(settings: &TlsSettings) -> Result<TlsConfig, TlsError> {
        if settings.password.as_deref().is_some_and(|p| !p.is_empty()) {
            tracing::warn!("TLS: 'password' is ignored: encrypted private keys are not supported");
        }
        let identity = match (&settings.cert_file, &settings.priv_key_file) {
            (Some(c), Some(k)) => Some((load_certs("cert_file", c)?, load_key(k)?)),
            (Some(_), None) => {
                return Err(TlsError::new("cert_file is set but priv_key_file is not"))
            }
            (None, Some(_)) => {
                return Err(TlsError::new("priv_key_file is set but cert_file is not"))
            }
            (None, None) => None,
        };
        let roots = load_roots(settings)?;
        let provider = provider();
        let versions = versions(settings.versions);

        let server = match &identity {
            None => None,
            Some((chain, key)) => {
                let builder = ServerConfig::builder_with_provider(provider.clone())
                    .with_protocol_versions(versions)
                    .map_err(|e| TlsError::new(format!("TLS versions: {e}")))?;
                let builder = if settings.verify_client || settings.require_client_cert {
                    let Some(roots) = roots.clone() else {
                        return Err(TlsError::new(
                            "verify_client/require_client_cert need ca_list_file or ca_list_path",
                        ));
                    };
                    let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                        roots,
                        provider.clone(),
                    );
                    // verify_client alone: a certificate is checked if presented.
                    let v = if settings.require_client_cert {
                        v
                    } else {
                        v.allow_unauthenticated()
                    };
                    let v = v
                        .build()
                        .map_err(|e| TlsError::new(format!("client verifier: {e}")))?;
                    builder.with_client_cert_verifier(v)
                } else {
                    builder.with_no_client_auth()
                };
                let config = builder
                    .with_single_cert(chain.clone(), key.clone_key())
                    .map_err(|e| TlsError::new(format!("certificate and key: {e}")))?;
                Some(Arc::new(config))
            }
        };

        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .map_err(|e| TlsError::new(format!("TLS versions: {e}")))?;
        let builder = if settings.verify_server {
            let Some(roots) = roots else {
                return Err(TlsError::new(
                    "verify_server=yes needs ca_list_file or ca_list_path (no system roots are used)",
                ));
            };
            builder.with_root_certificates(roots)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServer(provider)))
        };
        // Present our own certificate when a server asks for one (mutual TLS between
        // proxies, RFC 5922 §7.3), as pjsip does with the transport's certificate.
        let client = match identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TlsError::new(format!("client certificate: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        Ok(TlsConfig {
            server,
            client: Arc::new(client),
        })
    }

    /// The server side, when a certificate was loaded (the HTTPS server for WSS uses
    /// it as is).
    pub fn server_config(&self) -> Option<Arc<ServerConfig>> {
        self.server.clone()
    }

    /// Builds from rustls configurations made elsewhere; `server` is needed to listen.
    pub fn from_rustls(server: Option<Arc<ServerConfig>>, client: Arc<ClientConfig>) -> TlsConfig {
        TlsConfig { server, client }
    }
}

fn read(option: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::file(option, path, format!("cannot read: {e}")))
}

fn load_certs(option: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(option, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::file(option, path, format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError::file(option, path, "no CERTIFICATE in PEM file"));
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    const OPT: &str = "priv_key_file";
    let pem = read(OPT, path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        if pem.windows(9).any(|w| w == b"ENCRYPTED") {
            TlsError::file(
                OPT,
                path,
                "encrypted private keys are not supported (decrypt it, e.g. `openssl pkey`)",
            )
        } else {
            TlsError::file(
                OPT,
                path,
                format!("no PKCS#8, PKCS#1 or SEC1 private key in PEM file: {e}"),
            )
        }
    })
}

/// The roots from `ca_list_file` and every certificate file in `ca_list_path`.
fn load_roots(settings: &TlsSettings) -> Result<Option<Arc<RootCertStore>>, TlsError> {
    let mut store = RootCertStore::empty();
    if let Some(file) = &settings.ca_list_file {
        for cert in load_certs("ca_list_file", file)? {
            store
                .add(cert)
                .map_err(|e| TlsError::file("ca_list_file", file, format!("bad CA: {e}")))?;
        }
    }
    if let Some(dir) = &settings.ca_list_path {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| TlsError::file("ca_list_path", dir, format!("cannot read: {e}")))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_file() {
                continue;
            }
            let Ok(pem) = std::fs::read(&path) else {
                continue;
            };
            // A hashed CA directory may also hold CRLs and other files: take what
            // parses as certificates and skip the rest.
            let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
                .filter_map(Result::ok)
                .collect();
            let (_, ignored) = store.add_parsable_certificates(certs);
            if ignored > 0 {
                tracing::warn!(file = %path.display(), ignored, "ca_list_path: unusable certificates skipped");
            }
        }
    }
    let asked = settings.ca_list_file.is_some() || settings.ca_list_path.is_some();
    if asked && store.is_empty() {
        return Err(TlsError::new(
            "ca_list_file/ca_list_path hold no usable CA certificate",
        ));
    }
    Ok(asked.then(|| Arc::new(store)))
}

/// `verify_server=no` (Asterisk's default): accept any server certificate, but still
/// check the handshake signature, so the peer holds the key of the certificate it
/// sent. The connection is encrypted but the peer is not authenticated.
#[derive(Debug)]
struct AnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Accepts TCP connections and hands each to its own handshake task.
pub(crate) async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    local: SocketAddr,
    config: Arc<ServerConfig>,
) {
    let acceptor = TlsAcceptor::from(config);
    loop {
        let (stream, remote) = tcp::accept_admitted(&shared, &listener, local, "TLS").await;
        tracing::debug!(%local, %remote, "TLS connection accepted; handshaking");
        shared.handshaking.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(handshake(
            shared.clone(),
            acceptor.clone(),
            stream,
            local,
            remote,
        ));
    }
}

async fn handshake(
    shared: Arc<Shared>,
    acceptor: TlsAcceptor,
    stream: TcpStream,
    local: SocketAddr,
    remote: SocketAddr,
) {
    let _ = stream.set_nodelay(true);
    let result = tokio::select! {
        r = tokio::time::timeout(shared.limits.handshake_timeout, acceptor.accept(stream)) => r,
        () = shared.closed() => {
            // Dropping the handshake drops the socket.
            shared.handshaking.fetch_sub(1, Ordering::Relaxed);
            return;
        }
    };
    shared.handshaking.fetch_sub(1, Ordering::Relaxed);
    match result {
        Ok(Ok(tls)) => {
            let (_, session) = tls.get_ref();
            tracing::debug!(%local, %remote, version = ?session.protocol_version(), "TLS handshake done");
            let (read, write) = tokio::io::split(tls);
            tcp::start_split(
                &shared,
                Protocol::Tls,
                read,
                Writer::Bytes(Box::new(write)),
                local,
                remote,
                Origin::Accepted,
            );
        }
        Ok(Err(e)) => handshake_failed(&shared, remote, &e.to_string()),
        Err(_) => handshake_failed(&shared, remote, "timed out"),
    }
}

fn handshake_failed(shared: &Shared, remote: SocketAddr, why: &str) {
    let n = shared.tls_failures.fetch_add(1, Ordering::Relaxed) + 1;
    tracing::info!(%remote, error = why, failures = n, "TLS handshake failed");
}

/// The name to present (SNI) and verify: the host name when the destination was
/// named, else the IP address (RFC 5922 §7.2: the certificate must match the host of
/// the URI; an IP address matches an iPAddress subjectAltName).
fn server_name(host: Option<&str>, dest: SocketAddr) -> ServerName<'static> {
    let ip = |ip: IpAddr| ServerName::IpAddress(pki_types::IpAddr::from(ip));
    match host {
        Some(h) => {
            let h = h.trim_start_matches('[').trim_end_matches(']');
            match h.parse::<IpAddr>() {
                Ok(a) => ip(a),
                Err(_) => ServerName::try_from(h.to_owned()).unwrap_or_else(|_| ip(dest.ip())),
            }
        }
        None => ip(dest.ip()),
    }
}

/// Opens a TLS connection to `dest` (RFC 3261 §26.2.1), registered for reuse and read
/// like an accepted one.
pub(crate) async fn connect(
    shared: &Arc<Shared>,
    dest: SocketAddr,
    host: Option<&str>,
) -> io::Result<Arc<Connection>> {
    let Some(config) = shared.tls_client.clone() else {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no TLS transport is configured",
        ));
    };
    let stream = tcp::connect_socket(shared, dest).await?;
    let local = stream.local_addr()?;
    let name = server_name(host, dest);
    let connector = TlsConnector::from(config);
    let tls = tokio::time::timeout(
        shared.limits.handshake_timeout,
        connector.connect(name, stream),
    )
    .await
    .map_err(|_| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("TLS handshake with {dest} timed out"),
        )
    })?
    .inspect_err(|e| tracing::info!(remote = %dest, error = %e, "TLS handshake failed"))?;
    tracing::debug!(%local, remote = %dest, "TLS connection opened");
    let (read, write) = tokio::io::split(tls);
    Ok(tcp::start_split(
        shared,
        Protocol::Tls,
        read,
        Writer::Bytes(Box::new(write)),
        local,
        dest,
        Origin::Opened,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_name_is_the_host_or_the_address() {
        let dest: SocketAddr = "192.0.2.1:5061".parse().unwrap();
        assert_eq!(
            server_name(Some("sip.example.com"), dest),
            ServerName::try_from("sip.example.com").unwrap()
        );
        assert!(matches!(server_name(None, dest), ServerName::IpAddress(_)));
        assert!(matches!(
            server_name(Some("[2001:db8::1]"), dest),
            ServerName::IpAddress(_)
        ));
    }

    #[test]
    fn missing_files_name_the_option_and_file() {
        let s = TlsSettings {
            cert_file: Some("/nonexistent/cert.pem".into()),
            priv_key_file: Some("/nonexistent/key.pem".into()),
            ..TlsSettings::default()
        };
        let e = TlsConfig::load(&s).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("cert_file /nonexistent/cert.pem: cannot read"),
            "{text}"
        );
    }

    #[test]
    fn verify_server_without_roots_is_refused() {
        let s = TlsSettings {
            verify_server: true,
            ..TlsSettings::default()
        };
        let e = TlsConfig::load(&s).unwrap_err();
        assert!(e.message.contains("verify_server"), "{e}");
    }

    #[test]
    fn client_only_config_loads() {
        let c = TlsConfig::load(&TlsSettings::default()).unwrap();
        assert!(c.server.is_none());
        assert_eq!(c, c.clone());
    }
}
