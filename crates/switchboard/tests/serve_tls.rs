//! The whole server over TLS: `switchboard serve` with a `protocol=tls` transport whose
//! certificate rcgen made, answered by a rustls client of the test's own (the SIPp
//! packaged here is built without TLS: its `-t` has no `l1`). Transports with a
//! missing file or a refused `method` are named in an error and skipped while the
//! others still start.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use sip_transport::rustls::pki_types::ServerName;
use sip_transport::rustls::{self, ClientConfig, ClientConnection, RootCertStore, StreamOwned};

mod support;
use support::{config_dir, free_port, make_certs, options, read_responses, Server};

/// A server with a UDP transport, a working TLS one, and two TLS ones that cannot
/// start; also the roots that trust its certificate, and the TLS port.
fn start() -> (Server, RootCertStore, u16) {
    let dir = config_dir("tls");
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
             method=tlsv1\ncert_file=cert.pem\npriv_key_file={key}\n\n{}",
            support::ANONYMOUS
        ),
    )
    .expect("write pjsip.conf");
    (Server::start(dir, udp), roots, tls)
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

#[test]
fn options_over_tls_gets_200_and_bad_tls_transports_are_skipped() {
    let (server, roots, tls) = start();
    let addr = SocketAddr::from(([127, 0, 0, 1], tls));
    let mut stream = tls_client(roots, addr);
    let me = stream.sock.local_addr().expect("addr").port();
    stream
        .write_all(options("tls1", "tls1", me, "TLS").as_bytes())
        .expect("handshake and write");
    stream.flush().ok();
    let text = read_responses(&mut stream, 1);
    assert!(text.starts_with("SIP/2.0 200"), "{text}\n{}", server.log());
    assert!(text.contains("Call-ID: tls1"), "{text}");
    // A second request on the same connection.
    stream
        .write_all(options("tls2", "tls2", me, "TLS").as_bytes())
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
