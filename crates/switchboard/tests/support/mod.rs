//! Shared by the whole-server tests: free ports, a request to send, and the real
//! `switchboard serve` started on a configuration directory, waited for, and stopped
//! by PID. (Each test file includes this module; not every file uses every item.)
#![allow(dead_code)]

use std::io::Read;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An endpoint that takes every request no other endpoint claims, without
/// authentication (spec §8.5): what a configuration needs for strangers' OPTIONS to
/// be answered 200 — without one, the server challenges them (401), as Asterisk does.
pub const ANONYMOUS: &str = "[anonymous]\ntype=endpoint\n";

/// A port free for both UDP and TCP on 127.0.0.1 at the time of asking.
pub fn free_port() -> u16 {
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

/// An empty temporary configuration directory for one test.
pub fn config_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sb-serve-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// A configuration directory for `tag` whose pjsip.conf is a UDP transport on a free
/// loopback port followed by `objects`; the directory and the port.
pub fn udp_config(tag: &str, objects: &str) -> (PathBuf, u16) {
    let port = free_port();
    let dir = config_dir(tag);
    std::fs::write(
        dir.join("pjsip.conf"),
        format!("[udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:{port}\n\n{objects}"),
    )
    .expect("write pjsip.conf");
    (dir, port)
}

/// The Authorization value answering the first challenge of `challenged` (a 401 from
/// the server, realm `asterisk`) for `user`/`password`, for a `method` request to
/// `sip:127.0.0.1`.
pub fn answer_challenge(
    challenged: &sip_message::Message,
    method: &str,
    user: &str,
    password: &str,
) -> String {
    use sip_digest::{authorization, Algorithm, Auth};
    let challenge = challenged.www_authenticate().expect("challenge")[0].clone();
    let creds = Auth::new(user, "asterisk")
        .password(password)
        .algorithms(&Algorithm::ALL);
    authorization(&challenge, &creds, method, "sip:127.0.0.1", "c0ffee", 1).expect("answer")
}

/// Writes a CA and a leaf for 127.0.0.1 (`cert.pem`, `key.pem`) into `dir`; returns
/// the CA certificate (DER) for the client's roots.
pub fn make_certs(dir: &Path) -> sip_transport::rustls::pki_types::CertificateDer<'static> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
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

/// An OPTIONS request whose answer comes back to `reply_port` (rport).
pub fn options(branch: &str, call_id: &str, reply_port: u16, transport: &str) -> String {
    format!(
        "OPTIONS sip:switchboard@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/{transport} 127.0.0.1:{reply_port};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:test@127.0.0.1>;tag=t{branch}\r\n\
         To: <sip:switchboard@127.0.0.1>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// Reads from a stream until `count` 200 responses arrived or it goes quiet.
pub fn read_responses(stream: &mut impl Read, count: usize) -> String {
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

/// `switchboard serve` on `dir` (its pjsip.conf must have a UDP transport on
/// `udp_port`, used to tell when the server is ready); stderr goes to
/// `dir/stderr.log`. Killed when dropped; [`Server::stop`] stops it with SIGTERM.
pub struct Server {
    child: Child,
    dir: PathBuf,
    udp_port: u16,
    /// Keep the directory when dropped (a test restarts on it).
    keep: bool,
}

impl Server {
    /// Starts the server and waits until it answers OPTIONS over UDP, whatever the
    /// answer (at most 10 s).
    pub fn start(dir: PathBuf, udp_port: u16) -> Server {
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
            udp_port,
            keep: false,
        };
        server.wait_ready();
        server
    }

    /// The UDP address the server answers on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.udp_port))
    }

    /// The configuration directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the server logged so far.
    /// The server's log so far. The server writes its log from a thread of its own,
    /// so a line logged just before a response may reach the file just after the test
    /// saw the response: this reads until the file has stopped growing for 30 ms (at
    /// most 2 s).
    pub fn log(&self) -> String {
        let path = self.dir.join("stderr.log");
        let read = || std::fs::read_to_string(&path).unwrap_or_default();
        let start = Instant::now();
        let mut text = read();
        loop {
            std::thread::sleep(Duration::from_millis(30));
            let again = read();
            if again.len() == text.len() || start.elapsed() > Duration::from_secs(2) {
                return again;
            }
            text = again;
        }
    }

    fn wait_ready(&self) {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
        sock.set_read_timeout(Some(Duration::from_millis(200))).ok();
        let me = sock.local_addr().expect("addr").port();
        let start = Instant::now();
        let mut n = 0;
        while start.elapsed() < Duration::from_secs(10) {
            n += 1;
            let req = options(&format!("ready{n}"), &format!("ready{n}"), me, "UDP");
            let _ = sock.send_to(req.as_bytes(), self.addr());
            let mut buf = [0u8; 4096];
            if let Ok((len, _)) = sock.recv_from(&mut buf) {
                // Any answer means it is up (a configuration without an anonymous
                // endpoint challenges the probe: 401).
                if buf[..len].starts_with(b"SIP/2.0 ") {
                    return;
                }
            }
        }
        panic!(
            "switchboard did not answer OPTIONS on {} within 10 s:\n{}",
            self.addr(),
            self.log()
        );
    }

    /// Stops the server with SIGTERM; its exit status, or None if it did not stop
    /// within 10 s (then it is killed).
    pub fn stop(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Server {
    /// Kills the server with SIGKILL (no shutdown code runs) and returns its
    /// directory, kept for a restart.
    pub fn kill9(mut self) -> PathBuf {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.keep = true;
        self.dir.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Runs the SIPp scenario `tests/sipp/<scenario>.xml` once over UDP as `user`
/// (`[service]`) with these digest credentials (`-au`/`-ap`: the packaged SIPp cannot
/// take credentials per call from an injection file).
pub fn sipp_as(
    server: &Server,
    scenario: &str,
    user: &str,
    auth_user: &str,
    password: &str,
) -> std::process::Output {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/sipp/{scenario}.xml"));
    Command::new("sipp")
        .arg("-sf")
        .arg(&scenario)
        .args(["-s", user, "-au", auth_user, "-ap", password])
        .args(["-t", "u1", "-i", "127.0.0.1", "-p"])
        .arg(free_port().to_string())
        .args(["-m", "1", "-timeout", "20s", "-nostdin"])
        .arg(server.addr().to_string())
        .stdin(Stdio::null())
        .output()
        .expect("sipp runs (apt-get install sip-tester)")
}

/// A UDP client of the test's own: one socket, one request, one answer.
pub struct UdpClient {
    sock: UdpSocket,
    server: SocketAddr,
}

impl UdpClient {
    /// A client of `server` on a free loopback port.
    pub fn new(server: &Server) -> UdpClient {
        UdpClient::bind(server, 0)
    }

    /// A client of `server` on this loopback port (0: any free one).
    pub fn bind(server: &Server, port: u16) -> UdpClient {
        let sock = UdpSocket::bind(("127.0.0.1", port)).expect("udp");
        sock.set_read_timeout(Some(Duration::from_secs(3))).ok();
        UdpClient {
            sock,
            server: server.addr(),
        }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.sock.local_addr().expect("addr").port()
    }

    /// Sends `request`, returns the first answer (at most 3 s).
    pub fn ask(&self, request: &str) -> sip_message::Message {
        self.sock
            .send_to(request.as_bytes(), self.server)
            .expect("send");
        let mut buf = vec![0u8; 65536];
        let (n, _) = self.sock.recv_from(&mut buf).expect("an answer within 3 s");
        buf.truncate(n);
        sip_message::Message::parse(buf).expect("the answer parses")
    }
}
