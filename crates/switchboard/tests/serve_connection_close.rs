//! Contacts that die with their connection (spec §6.7), through the whole server: a
//! phone registers over TCP on an endpoint with `rewrite_contact=yes`, so its contact
//! is `prune_on_boot`; when it closes the connection the contact leaves the store
//! (`ps_contacts` of the local SQLite store) and is logged removed "due to shutdown".
//! A phone registered over UDP, and one registered over TCP without
//! `rewrite_contact` (not `prune_on_boot`), stay.

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

mod support;
use support::{config_dir, free_port, read_responses, Server, UdpClient};

const PHONES: &str = "\
[natted]\ntype=endpoint\naors=natted\nrewrite_contact=yes\n[natted]\ntype=aor\nmax_contacts=1\n\n\
[plain]\ntype=endpoint\naors=plain\n[plain]\ntype=aor\nmax_contacts=1\n\n\
[udpphone]\ntype=endpoint\naors=udpphone\n[udpphone]\ntype=aor\nmax_contacts=1\n";

/// A REGISTER from `user` (an endpoint without `auth`: identified by its From user and
/// let in without a challenge) binding `contact` for an hour.
fn register(user: &str, transport: &str, me: u16, contact: &str) -> String {
    format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/{transport} 127.0.0.1:{me};branch=z9hG4bK-{user};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@127.0.0.1>;tag=f-{user}\r\n\
         To: <sip:{user}@127.0.0.1>\r\n\
         Call-ID: close-{user}\r\n\
         CSeq: 1 REGISTER\r\n\
         Contact: <{contact}>\r\n\
         Expires: 3600\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// Registers `user` over a new TCP connection; returns the connection, still open.
fn register_over_tcp(server: &Server, port: u16, user: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).expect("TCP connect");
    tcp.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let me = tcp.local_addr().expect("addr").port();
    // The phone's own idea of its address, behind a NAT.
    let contact = "sip:{user}@10.0.0.2:5060;transport=tcp".replace("{user}", user);
    tcp.write_all(register(user, "TCP", me, &contact).as_bytes())
        .expect("send");
    let answer = read_responses(&mut tcp, 1);
    assert!(
        answer.starts_with("SIP/2.0 200"),
        "{user}: {answer}\n{}",
        server.log()
    );
    tcp
}

/// `uri prune_on_boot` of every row of the store's ps_contacts, by id.
fn stored(server: &Server) -> Vec<String> {
    let db = server.dir().join("data/switchboard.db");
    let out = Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT uri || ' ' || prune_on_boot FROM ps_contacts ORDER BY id")
        .output()
        .expect("sqlite3 runs (apt-get install sqlite3)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn closing_the_tcp_connection_removes_its_prune_on_boot_contact() {
    let port = free_port();
    let dir = config_dir("connection-close");
    std::fs::write(
        dir.join("pjsip.conf"),
        format!(
            "[udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:{port}\n\
             [tcp]\ntype=transport\nprotocol=tcp\nbind=127.0.0.1:{port}\n\n{PHONES}"
        ),
    )
    .expect("write pjsip.conf");
    let server = Server::start(dir, port);

    let natted = register_over_tcp(&server, port, "natted");
    let natted_port = natted.local_addr().expect("addr").port();
    let plain = register_over_tcp(&server, port, "plain");
    let udp = UdpClient::new(&server);
    let answer = udp.ask(&register(
        "udpphone",
        "UDP",
        udp.port(),
        &format!("sip:udpphone@127.0.0.1:{}", udp.port()),
    ));
    assert_eq!(answer.status(), Some(200), "{}", server.log());

    // Rewritten to the connection's source, hence bound to the connection.
    let natted_uri =
        format!("sip:natted@127.0.0.1:{natted_port};transport=tcp;x-ast-orig-host=10.0.0.2:5060");
    let rows = stored(&server);
    assert_eq!(rows.len(), 3, "{rows:?}\n{}", server.log());
    let row = |user: &str| {
        rows.iter()
            .find(|r| r.starts_with(&format!("sip:{user}@")))
            .unwrap_or_else(|| panic!("no row for {user}: {rows:?}"))
            .clone()
    };
    let truthy = |r: &str| {
        ["1", "yes", "true", "on"]
            .iter()
            .any(|t| r.ends_with(&format!(" {t}")))
    };
    let natted_row = row("natted");
    // (stored as Asterisk's realtime writes it: `;` as `^3B`)
    assert!(
        natted_row.starts_with(&format!("{} ", natted_uri.replace(';', "^3B"))),
        "{natted_row}"
    );
    assert!(truthy(&natted_row), "prune_on_boot: {natted_row}");
    assert!(!truthy(&row("plain")), "without rewrite_contact: {rows:?}");
    assert!(!truthy(&row("udpphone")), "UDP: {rows:?}");

    // The phone goes away: its contact follows, within a bounded wait.
    drop(natted);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut rows = stored(&server);
    while rows.len() != 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        rows = stored(&server);
    }
    assert_eq!(rows.len(), 2, "{rows:?}\n{}", server.log());
    assert!(
        rows.iter().all(|r| !r.starts_with("sip:natted@")),
        "{rows:?}"
    );
    let removed = format!("Removed contact '{natted_uri}' from AOR 'natted' due to shutdown");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.log().contains(&removed) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.log().contains(&removed), "{}", server.log());

    // A TCP contact that is not prune_on_boot outlives its connection.
    drop(plain);
    std::thread::sleep(Duration::from_millis(500));
    let rows = stored(&server);
    assert_eq!(rows.len(), 2, "{rows:?}\n{}", server.log());
    assert!(rows.iter().any(|r| r.starts_with("sip:plain@")), "{rows:?}");
    assert!(
        rows.iter().any(|r| r.starts_with("sip:udpphone@")),
        "{rows:?}"
    );
    assert_eq!(server.stop(), Some(0));
}
