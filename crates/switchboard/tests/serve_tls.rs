//! The whole server over TLS: `switchboard serve` with a `protocol=tls` transport whose
//! certificate rcgen made, answered by a rustls client of the test's own (the SIPp
//! packaged here is built without TLS: its `-t` has no `l1`). Transports with a
//! missing file or a refused `method` are named in an error and skipped while the
//! others still start.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use sip_transport::rustls::pki_types::ServerName;
use sip_transport::rustls::{self, ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// A server on free ports, killed when dropped.
struct Server {
    child: Child,
    dir: PathBuf,
    udp: u16,
    tls: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port free for both UDP and TCP on 127.0.0.1 at the time of asking.
fn free_port() -> u16 {
    for _ in 0..50 {
        let Ok(tcp) = TcpListener::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = tcp.local_addr() else { continue };
        if UdpSocket::bind(addr).is_ok() {
            return addr.port();
        }
    }
    panic!("no free port on 127.0.0.1");
}

fn options(branch: &str, reply_port: u16, transport: &str) -> String {
    format!(
        "OPTIONS sip:switchboard@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/{transport} 127.0.0.1:{reply_port};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:test@127.0.0.1>;tag=t{branch}\r\n\
         To: <sip:switchboard@127.0.0.1>\r\n\
         Call-ID: {branch}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// Writes a CA and a leaf for 127.0.0.1 into `dir`; returns the CA certificate (DER).
fn make_certs(dir: &std::path::Path) -> rustls::pki_types::CertificateDer<'static> {
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("params")
        .signed_by(&key, &Issuer::from_params(&ca_params, &ca_key))
        .expect("leaf");
    std::fs::write(dir.join("cert.pem"), leaf.pem()).expect("write");
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).expect("write");
    ca.der().clone()
}

impl Server {
    fn start() -> (Server, RootCertStore) {
        let dir = std::env::temp_dir().join(format!("sb-serve-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let ca = make_certs(&dir);
        let mut roots = RootCertStore::empty();
        roots.add(ca).expect("CA");
        let (udp, tls, other1, other2) = (free_port(), free_port(), free_port(), free_port());
        // cert_file relative to the configuration directory, priv_key_file absolute.
        let key = dir.join("key.pem");
        let key = key.display();
        std::fs::write(
            dir.join("pjsip.conf"),
            format!(
                "[udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:{udp}\n\n\
                 [tls]\ntype=transport\nprotocol=tls\nbind=127.0.0.1:{tls}\n\
                 cert_file=cert.pem\npriv_key_file={key}\n\n\
                 [tls-missing]\ntype=transport\nprotocol=tls\nbind=127.0.0.1:{other1}\n\
                 cert_file=missing.pem\npriv_key_file={key}\n\n\
                 [tls-old]\ntype=transport\nprotocol=tls\nbind=127.0.0.1:{other2}\n\
                 method=tlsv1\ncert_file=cert.pem\npriv_key_file={key}\n"
            ),
        )
        .expect("write pjsip.conf");
        let log = std::fs::File::create(dir.join("stderr.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["serve", "--config-dir"])
            .arg(&dir)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("switchboard starts");
        let server = Server {
            child,
            dir,
            udp,
            tls,
        };
        server.wait_ready();
        (server, roots)
    }

    /// Polls with OPTIONS over UDP until answered (at most 10 s).
    fn wait_ready(&self) {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
        sock.set_read_timeout(Some(Duration::from_millis(200))).ok();
        let me = sock.local_addr().expect("addr").port();
        let to = SocketAddr::from(([127, 0, 0, 1], self.udp));
        let start = Instant::now();
        let mut n = 0;
        while start.elapsed() < Duration::from_secs(10) {
            n += 1;
            let _ = sock.send_to(options(&format!("ready{n}"), me, "UDP").as_bytes(), to);
            let mut buf = [0u8; 4096];
            if let Ok((len, _)) = sock.recv_from(&mut buf) {
                if buf[..len].starts_with(b"SIP/2.0 200") {
                    return;
                }
            }
        }
        panic!("switchboard did not answer OPTIONS on {to} within 10 s");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }
}

fn tls_client(
    roots: RootCertStore,
    server: SocketAddr,
) -> StreamOwned<ClientConnection, TcpStream> {
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let conn = ClientConnection::new(Arc::new(config), name).expect("client");
    let tcp = TcpStream::connect(server).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(3))).ok();
    StreamOwned::new(conn, tcp)
}

fn read_responses(stream: &mut impl Read, count: usize) -> String {
    let mut text = String::new();
    let mut buf = [0u8; 8192];
    while text.matches("SIP/2.0 200").count() < count {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    text
}

#[test]
fn options_over_tls_gets_200_and_bad_tls_transports_are_skipped() {
    let (server, roots) = Server::start();
    let addr = SocketAddr::from(([127, 0, 0, 1], server.tls));
    let mut stream = tls_client(roots, addr);
    let me = stream.sock.local_addr().expect("addr").port();
    stream
        .write_all(options("tls1", me, "TLS").as_bytes())
        .expect("handshake and write");
    stream.flush().ok();
    let text = read_responses(&mut stream, 1);
    assert!(text.starts_with("SIP/2.0 200"), "{text}\n{}", server.log());
    assert!(text.contains("Call-ID: tls1"), "{text}");
    // A second request on the same connection.
    stream
        .write_all(options("tls2", me, "TLS").as_bytes())
        .expect("write");
    let text = read_responses(&mut stream, 1);
    assert!(text.contains("Call-ID: tls2"), "{text}");

    let log = server.log();
    assert!(
        log.contains("transport 'tls-missing': cert_file ") && log.contains("missing.pem"),
        "the missing file is named with its transport:\n{log}"
    );
    assert!(
        log.contains("transport 'tls-old': method=tlsv1 is refused"),
        "the refused method is named:\n{log}"
    );
}
