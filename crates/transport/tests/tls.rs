//! TLS over real loopback sockets with rcgen-made certificates: OPTIONS in and out,
//! responses on the request's connection, reuse, handshake failures that leave the
//! listener accepting, client certificates, and the TLS 1.2-only method.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use common::*;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use sip_message::{Frame, Message, StreamFramer};
use sip_transport::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sip_transport::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use sip_transport::{
    Inbound, ListenConfig, Protocol, TlsConfig, TlsSettings, TlsVersions, TransportLimits,
    Transports,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::Receiver;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// A test CA and a leaf it signed for `localhost` and 127.0.0.1, as PEM files in a
/// directory of their own.
struct Pki {
    dir: PathBuf,
    ca_der: CertificateDer<'static>,
    leaf_der: CertificateDer<'static>,
    leaf_key_der: Vec<u8>,
    ca_params: CertificateParams,
    ca_key: KeyPair,
}

impl Pki {
    fn new(tag: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("sb-tls-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &Issuer::from_params(&ca_params, &ca_key))
            .unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.join("cert.pem"), leaf.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), leaf_key.serialize_pem()).unwrap();
        Pki {
            dir,
            ca_der: ca.der().clone(),
            leaf_der: leaf.der().clone(),
            leaf_key_der: leaf_key.serialize_der(),
            ca_params,
            ca_key,
        }
    }

    fn settings(&self) -> TlsSettings {
        TlsSettings {
            cert_file: Some(self.dir.join("cert.pem")),
            priv_key_file: Some(self.dir.join("key.pem")),
            ..TlsSettings::default()
        }
    }

    fn roots(&self) -> Arc<RootCertStore> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der.clone()).unwrap();
        Arc::new(roots)
    }

    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::try_from(self.leaf_key_der.clone()).unwrap()
    }

    /// A client certificate signed by this CA.
    fn client_identity(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["client.example".to_owned()])
            .unwrap()
            .signed_by(&key, &Issuer::from_params(&self.ca_params, &self.ca_key))
            .unwrap();
        (
            vec![cert.der().clone()],
            PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client that trusts `roots`, optionally with a certificate.
fn client_config(
    roots: Arc<RootCertStore>,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let b = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match identity {
        Some((chain, key)) => b.with_client_auth_cert(chain, key).unwrap(),
        None => b.with_no_client_auth(),
    })
}

async fn bind_tls(settings: &TlsSettings) -> (Transports, Receiver<Inbound>, SocketAddr) {
    let tls = TlsConfig::load(settings).expect("TLS config loads");
    let listen = [ListenConfig::tls("127.0.0.1:0".parse().unwrap(), tls)];
    let (t, rx) = Transports::bind(&listen, TransportLimits::default())
        .await
        .expect("bind");
    let (p, local) = t.local_addrs()[0];
    assert_eq!(p, Protocol::Tls);
    (t, rx, local)
}

type ClientStream = tokio_rustls::client::TlsStream<TcpStream>;

async fn connect(
    server: SocketAddr,
    config: Arc<ClientConfig>,
    name: &str,
) -> std::io::Result<ClientStream> {
    let tcp = TcpStream::connect(server).await?;
    let name = ServerName::try_from(name.to_owned()).unwrap();
    tokio::time::timeout(WAIT, TlsConnector::from(config).connect(name, tcp))
        .await
        .expect("handshake timed out")
}

/// A client that trusts `pki`'s CA, connected to `server` as `localhost`.
async fn connect_trusting(server: SocketAddr, pki: &Pki) -> ClientStream {
    let config = client_config(pki.roots(), None, rustls::DEFAULT_VERSIONS);
    connect(server, config, "localhost")
        .await
        .expect("handshake")
}

async fn read_tls_message<S: AsyncRead + Unpin>(stream: &mut S) -> Message {
    let mut framer = StreamFramer::default();
    let mut buf = BytesMut::new();
    loop {
        if let Some(Frame::Message(m)) = framer.next(&mut buf).expect("frameable") {
            return m;
        }
        let n = tokio::time::timeout(WAIT, stream.read_buf(&mut buf))
            .await
            .expect("timed out reading")
            .expect("read");
        assert!(n > 0, "connection closed while waiting for a message");
    }
}

fn tls_request(call_id: &str) -> String {
    request("SIP/2.0/TLS 192.0.2.33:5061;branch=z9hG4bK-s", call_id)
}

fn ok_for(req: &Message) -> Message {
    let via = String::from_utf8_lossy(req.value("Via").expect("via")).into_owned();
    let text = format!(
        "SIP/2.0 200 OK\r\nVia: {via}\r\nFrom: <sip:alice@example.com>;tag=a1\r\n\
         To: <sip:server@example.com>;tag=s1\r\nCall-ID: {}\r\nCSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n",
        req.call_id().unwrap().as_str()
    );
    Message::parse(Bytes::from(text)).unwrap()
}

/// Answers every request on `stream` with a 200 until it closes.
async fn answer<S: AsyncRead + tokio::io::AsyncWrite + Unpin>(mut stream: S) -> Vec<Message> {
    let mut framer = StreamFramer::default();
    let mut buf = BytesMut::new();
    let mut seen = Vec::new();
    loop {
        while let Ok(Some(Frame::Message(m))) = framer.next(&mut buf) {
            let resp = ok_for(&m);
            stream.write_all(&resp.to_bytes()).await.unwrap();
            seen.push(m);
        }
        match tokio::time::timeout(WAIT, stream.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return seen,
        }
    }
}

#[tokio::test]
async fn options_in_over_tls_is_answered_on_its_connection() {
    let pki = Pki::new("in");
    let (t, mut rx, server) = bind_tls(&pki.settings()).await;
    let mut c = connect_trusting(server, &pki).await;
    c.write_all(tls_request("tls-in").as_bytes()).await.unwrap();
    let (m, src) = next_message(&mut rx).await;
    assert_eq!(m.call_id().unwrap().as_str(), "tls-in");
    assert_eq!(src.protocol, Protocol::Tls);
    assert_eq!(src.remote, c.get_ref().0.local_addr().unwrap());
    assert!(src.connection.is_some());
    assert_eq!(m.top_via().unwrap().received(), Some("127.0.0.1"));

    // RFC 3261 §18.2.2: on the connection the request came on, not to 192.0.2.33:5061.
    t.send_response(&src, &ok_for(&m))
        .await
        .expect("response sent");
    let resp = read_tls_message(&mut c).await;
    assert!(!resp.is_request());
    assert_eq!(resp.call_id().unwrap().as_str(), "tls-in");
    assert_eq!(t.tls_handshake_failures(), 0);
}

#[tokio::test]
async fn options_out_over_tls_reuses_the_connection_and_gets_its_response() {
    let pki = Pki::new("out");
    // A peer that verifies nothing but records the SNI it was sent.
    let server_config = Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![pki.leaf_der.clone()], pki.key())
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer = listener.local_addr().unwrap();
    let peer_task = tokio::spawn(async move {
        let acceptor = TlsAcceptor::from(server_config);
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        let sni = tls.get_ref().1.server_name().map(str::to_owned);
        let seen = answer(tls).await;
        // A second connection would mean the first was not reused.
        let again = tokio::time::timeout(std::time::Duration::from_millis(100), listener.accept())
            .await
            .is_ok();
        (sni, seen, again)
    });

    // Our side verifies the peer against the CA (verify_server=yes).
    let settings = TlsSettings {
        ca_list_file: Some(pki.dir.join("ca.pem")),
        verify_server: true,
        ..pki.settings()
    };
    let (t, mut rx, _server) = bind_tls(&settings).await;
    let first = tls_request("out-1");
    t.send_to_host(Protocol::Tls, peer, Some("localhost"), Bytes::from(first))
        .await
        .expect("sent over a new TLS connection");
    let (resp, src) = next_message(&mut rx).await;
    assert!(!resp.is_request());
    assert_eq!(resp.call_id().unwrap().as_str(), "out-1");
    assert_eq!(src.protocol, Protocol::Tls);
    t.send_to(Protocol::Tls, peer, Bytes::from(tls_request("out-2")))
        .await
        .expect("sent over the same connection");
    let (resp, src2) = next_message(&mut rx).await;
    assert_eq!(resp.call_id().unwrap().as_str(), "out-2");
    assert_eq!(src.connection, src2.connection);
    assert_eq!(t.connection_count(), 1);
    drop(t);
    let (sni, seen, again) = peer_task.await.unwrap();
    assert_eq!(sni.as_deref(), Some("localhost"), "SNI is the host name");
    assert_eq!(seen.len(), 2);
    assert!(!again, "the connection was reused");
}

#[tokio::test]
async fn verify_server_refuses_a_peer_the_ca_did_not_sign() {
    let ours = Pki::new("vs-ours");
    let theirs = Pki::new("vs-theirs");
    let server_config = Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![theirs.leaf_der.clone()], theirs.key())
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let acceptor = TlsAcceptor::from(server_config);
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = acceptor.accept(tcp).await;
        }
    });
    let settings = TlsSettings {
        ca_list_file: Some(ours.dir.join("ca.pem")),
        verify_server: true,
        ..ours.settings()
    };
    let (t, _rx, _server) = bind_tls(&settings).await;
    let e = t
        .send_to_host(
            Protocol::Tls,
            peer,
            Some("localhost"),
            Bytes::from(tls_request("x")),
        )
        .await
        .expect_err("untrusted server certificate");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");

    // verify_server=no (Asterisk's default) connects all the same.
    let (t, _rx, _server) = bind_tls(&ours.settings()).await;
    t.send_to(Protocol::Tls, peer, Bytes::from(tls_request("y")))
        .await
        .expect("no verification: connected");
}

#[tokio::test]
async fn a_failed_handshake_is_counted_and_the_listener_keeps_accepting() {
    let pki = Pki::new("fail");
    let stranger = Pki::new("fail-stranger");
    let (t, mut rx, server) = bind_tls(&pki.settings()).await;

    // A client that trusts another CA aborts the handshake.
    let bad = client_config(stranger.roots(), None, rustls::DEFAULT_VERSIONS);
    assert!(connect(server, bad, "localhost").await.is_err());
    eventually("the failure is counted", || t.tls_handshake_failures() == 1).await;

    // Plain text on the TLS port fails too.
    let mut plain = TcpStream::connect(server).await.unwrap();
    plain
        .write_all(tls_request("plain").as_bytes())
        .await
        .unwrap();
    closed(&mut plain).await;
    eventually("the failure is counted", || t.tls_handshake_failures() == 2).await;
    nothing(&mut rx).await;

    // A good client still gets through.
    let good = client_config(pki.roots(), None, rustls::DEFAULT_VERSIONS);
    let mut c = connect(server, good, "localhost").await.expect("handshake");
    c.write_all(tls_request("after").as_bytes()).await.unwrap();
    let (m, _) = next_message(&mut rx).await;
    assert_eq!(m.call_id().unwrap().as_str(), "after");
}

#[tokio::test]
async fn a_silent_client_is_dropped_after_the_handshake_timeout() {
    let pki = Pki::new("silent");
    let tls = TlsConfig::load(&pki.settings()).unwrap();
    let limits = TransportLimits {
        handshake_timeout: std::time::Duration::from_millis(200),
        ..TransportLimits::default()
    };
    let (t, _rx) = Transports::bind(
        &[ListenConfig::tls("127.0.0.1:0".parse().unwrap(), tls)],
        limits,
    )
    .await
    .unwrap();
    let server = t.local_addrs()[0].1;
    let mut silent = TcpStream::connect(server).await.unwrap();
    closed(&mut silent).await;
    eventually("the timeout is counted", || t.tls_handshake_failures() == 1).await;
}

#[tokio::test]
async fn require_client_cert_refuses_a_client_without_one() {
    let pki = Pki::new("mtls");
    let settings = TlsSettings {
        ca_list_file: Some(pki.dir.join("ca.pem")),
        verify_client: true,
        require_client_cert: true,
        ..pki.settings()
    };
    let (t, mut rx, server) = bind_tls(&settings).await;

    // In TLS 1.3 the client may finish its side before the server refuses; either way
    // the server sends an alert, closes, and delivers nothing.
    let anonymous = client_config(pki.roots(), None, rustls::DEFAULT_VERSIONS);
    if let Ok(mut c) = connect(server, anonymous, "localhost").await {
        let _ = c.write_all(tls_request("anon").as_bytes()).await;
        let mut sink = [0u8; 256];
        let r = tokio::time::timeout(WAIT, c.read(&mut sink))
            .await
            .expect("closed");
        assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    }
    eventually("the refusal is counted", || t.tls_handshake_failures() == 1).await;
    nothing(&mut rx).await;

    // With a certificate from the CA it is let in.
    let with_cert = client_config(
        pki.roots(),
        Some(pki.client_identity()),
        rustls::DEFAULT_VERSIONS,
    );
    let mut c = connect(server, with_cert, "localhost")
        .await
        .expect("handshake");
    c.write_all(tls_request("mtls").as_bytes()).await.unwrap();
    let (m, _) = next_message(&mut rx).await;
    assert_eq!(m.call_id().unwrap().as_str(), "mtls");
}

#[tokio::test]
async fn verify_client_alone_lets_anonymous_clients_in() {
    let pki = Pki::new("vc");
    let settings = TlsSettings {
        ca_list_file: Some(pki.dir.join("ca.pem")),
        verify_client: true,
        ..pki.settings()
    };
    let (_t, mut rx, server) = bind_tls(&settings).await;
    let anonymous = client_config(pki.roots(), None, rustls::DEFAULT_VERSIONS);
    let mut c = connect(server, anonymous, "localhost")
        .await
        .expect("handshake");
    c.write_all(tls_request("vc").as_bytes()).await.unwrap();
    let (m, _) = next_message(&mut rx).await;
    assert_eq!(m.call_id().unwrap().as_str(), "vc");
}

#[tokio::test]
async fn method_tlsv1_2_offers_only_tls_1_2() {
    let pki = Pki::new("v12");
    let settings = TlsSettings {
        versions: TlsVersions::Tls12,
        ..pki.settings()
    };
    let (t, mut rx, server) = bind_tls(&settings).await;

    let only13 = client_config(pki.roots(), None, &[&rustls::version::TLS13]);
    assert!(connect(server, only13, "localhost").await.is_err());
    eventually("the failure is counted", || t.tls_handshake_failures() == 1).await;

    let any = client_config(pki.roots(), None, rustls::DEFAULT_VERSIONS);
    let mut c = connect(server, any, "127.0.0.1").await.expect("handshake");
    assert_eq!(
        c.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    c.write_all(tls_request("v12").as_bytes()).await.unwrap();
    let (m, _) = next_message(&mut rx).await;
    assert_eq!(m.call_id().unwrap().as_str(), "v12");
}

#[test]
fn bad_files_are_errors_naming_option_and_file() {
    let pki = Pki::new("bad");
    std::fs::write(pki.dir.join("garbage.pem"), "not a key\n").unwrap();
    let e = TlsConfig::load(&TlsSettings {
        priv_key_file: Some(pki.dir.join("garbage.pem")),
        ..pki.settings()
    })
    .unwrap_err();
    assert!(e.to_string().starts_with("priv_key_file "), "{e}");
    assert!(e.to_string().contains("garbage.pem"), "{e}");

    std::fs::write(
        pki.dir.join("enc.pem"),
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    let e = TlsConfig::load(&TlsSettings {
        priv_key_file: Some(pki.dir.join("enc.pem")),
        ..pki.settings()
    })
    .unwrap_err();
    assert!(e.to_string().contains("encrypted"), "{e}");

    let e = TlsConfig::load(&TlsSettings {
        require_client_cert: true,
        ..pki.settings()
    })
    .unwrap_err();
    assert!(e.to_string().contains("ca_list_file"), "{e}");

    // A CA directory (ca_list_path) works like a file.
    let settings = TlsSettings {
        ca_list_path: Some(pki.dir.clone()),
        verify_server: true,
        ..pki.settings()
    };
    TlsConfig::load(&settings).expect("ca_list_path loads");
}

#[tokio::test]
async fn a_tls_listener_without_a_certificate_is_refused() {
    let client_only = TlsConfig::load(&TlsSettings::default()).unwrap();
    let e = Transports::bind(
        &[ListenConfig::tls(
            "127.0.0.1:0".parse().unwrap(),
            client_only,
        )],
        TransportLimits::default(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("no certificate"), "{e}");
    let e = Transports::bind(
        &[ListenConfig::new(
            Protocol::Tls,
            "127.0.0.1:0".parse().unwrap(),
        )],
        TransportLimits::default(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("no TLS configuration"), "{e}");
}

#[tokio::test]
async fn a_client_silent_after_its_handshake_is_closed_after_the_first_message_timeout() {
    let pki = Pki::new("first");
    let tls = TlsConfig::load(&pki.settings()).unwrap();
    let limits = TransportLimits {
        first_message_timeout: std::time::Duration::from_millis(300),
        ..TransportLimits::default()
    };
    let (t, _rx) = Transports::bind(
        &[ListenConfig::tls("127.0.0.1:0".parse().unwrap(), tls)],
        limits,
    )
    .await
    .unwrap();
    let server = t.local_addrs()[0].1;
    let good = client_config(pki.roots(), None, rustls::DEFAULT_VERSIONS);
    let mut c = connect(server, good, "localhost").await.expect("handshake");
    eventually("the connection is registered", || t.connection_count() == 1).await;
    closed(&mut c).await;
    eventually("the connection is forgotten", || t.connection_count() == 0).await;
    assert_eq!(
        t.tls_handshake_failures(),
        0,
        "the handshake itself succeeded"
    );
}

#[tokio::test]
async fn dropping_the_transports_closes_handshakes_in_progress() {
    let pki = Pki::new("drop");
    let tls = TlsConfig::load(&pki.settings()).unwrap();
    // Long limits: only the drop can end these connections within the test.
    let limits = TransportLimits {
        handshake_timeout: std::time::Duration::from_secs(120),
        first_message_timeout: std::time::Duration::from_secs(120),
        ..TransportLimits::default()
    };
    let (t, _rx) = Transports::bind(
        &[ListenConfig::tls("127.0.0.1:0".parse().unwrap(), tls)],
        limits,
    )
    .await
    .unwrap();
    let server = t.local_addrs()[0].1;
    // One client holds its handshake open (connects and never says hello), another
    // completed its handshake.
    let mut holding = TcpStream::connect(server).await.unwrap();
    let good = client_config(pki.roots(), None, rustls::DEFAULT_VERSIONS);
    let mut done = connect(server, good, "localhost").await.expect("handshake");
    eventually("the finished handshake is registered", || {
        t.connection_count() == 1
    })
    .await;
    still_open(&mut holding, std::time::Duration::from_millis(200)).await;
    drop(t);
    closed(&mut holding).await;
    closed(&mut done).await;
}

#[tokio::test]
async fn the_end_of_a_tls_connection_is_reported() {
    let pki = Pki::new("end");
    let (_t, mut rx, server) = bind_tls(&pki.settings()).await;
    let mut c = connect_trusting(server, &pki).await;
    c.write_all(tls_request("tls-end").as_bytes())
        .await
        .unwrap();
    let (_, src) = next_message(&mut rx).await;
    let ours = c.get_ref().0.local_addr().unwrap();
    c.shutdown().await.unwrap();
    drop(c);
    let end = next_closed(&mut rx).await;
    assert_eq!(
        end,
        Closed {
            protocol: Protocol::Tls,
            local: server,
            remote: ours,
            connection: src.connection.unwrap(),
        }
    );
    nothing(&mut rx).await;
}
