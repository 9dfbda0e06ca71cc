//! The registrar's rules through the whole server (spec §6–8), one configuration, a
//! client of the test's own: `*`, max_contacts, remove_existing, expiration clamping,
//! static contacts, Path, SHA-256, md5 auth_type, identification by IP (with and
//! without a port) and by header, an endpoint ACL.

use sip_digest::{authorization, Algorithm, Auth};
use sip_message::Message;

mod support;
use support::{config_dir, free_port, udp_config, Server, UdpClient};

const CONF: &str = "\
[one]\ntype=endpoint\nauth=one\naors=one\n[one]\ntype=auth\nusername=one\npassword=pw\n\
[one]\ntype=aor\nmax_contacts=1\n\n\
[swap]\ntype=endpoint\nauth=swap\naors=swap\n[swap]\ntype=auth\nusername=swap\npassword=pw\n\
[swap]\ntype=aor\nmax_contacts=1\nremove_existing=yes\n\n\
[clamp]\ntype=endpoint\nauth=clamp\naors=clamp\n[clamp]\ntype=auth\nusername=clamp\npassword=pw\n\
[clamp]\ntype=aor\nmax_contacts=5\nminimum_expiration=60\nmaximum_expiration=600\ndefault_expiration=300\n\
contact=sip:desk@192.0.2.10:5060\nsupport_path=yes\n\n\
[sha]\ntype=endpoint\nauth=sha\naors=sha\n[sha]\ntype=auth\nusername=sha\npassword=pw\n\
supported_algorithms_uas=SHA-256\n[sha]\ntype=aor\nmax_contacts=1\n\n\
[md5]\ntype=endpoint\nauth=md5\naors=md5\n[md5]\ntype=auth\nauth_type=md5\nusername=md5\n\
realm=asterisk\nmd5_cred=MD5CRED\n[md5]\ntype=aor\nmax_contacts=1\n\n\
[fenced]\ntype=endpoint\nauth=fenced\naors=fenced\ndeny=127.0.0.0/8\n\
[fenced]\ntype=auth\nusername=fenced\npassword=pw\n[fenced]\ntype=aor\nmax_contacts=1\n\n\
[trunk]\ntype=endpoint\naors=trunk\nidentify_by=ip\n[trunk]\ntype=aor\nmax_contacts=1\n\
[trunk-id]\ntype=identify\nendpoint=trunk\nmatch=127.0.0.1:PORT\n\n\
[hdr]\ntype=endpoint\naors=hdr\nidentify_by=header\n[hdr]\ntype=aor\nmax_contacts=1\n\
[hdr-id]\ntype=identify\nendpoint=hdr\nmatch_header=X-Tenant: acme\n";

/// The server, a client, and a second client whose port the `trunk` identify names
/// (requests from it are the trunk's, whatever they say).
fn start() -> (Server, UdpClient, UdpClient) {
    let port = free_port();
    let dir = config_dir("registrar-rules");
    // md5_cred is MD5("md5:asterisk:pw").
    let md5 = sip_digest::password_digest(Algorithm::Md5, "md5", "asterisk", "pw");
    let probe = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let client_port = probe.local_addr().expect("addr").port();
    drop(probe);
    std::fs::write(
        dir.join("pjsip.conf"),
        format!("[udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:{port}\n\n")
            + &CONF
                .replace("MD5CRED", &md5)
                .replace("PORT", &client_port.to_string()),
    )
    .expect("write pjsip.conf");
    let server = Server::start(dir, port);
    let trunk = UdpClient::bind(&server, client_port);
    let client = UdpClient::new(&server);
    (server, client, trunk)
}

struct Call<'a> {
    c: &'a UdpClient,
    to: &'a str,
    call_id: String,
    cseq: u32,
}

impl Call<'_> {
    fn send(&mut self, from: &str, extra: &str) -> Message {
        self.cseq += 1;
        let me = self.c.port();
        self.c.ask(&format!(
            "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{}-{};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{from}@127.0.0.1>;tag=f{}\r\n\
             To: <sip:{}@127.0.0.1>\r\n\
             Call-ID: {}\r\n\
             CSeq: {} REGISTER\r\n{extra}\
             Content-Length: 0\r\n\r\n",
            self.call_id, self.cseq, self.call_id, self.to, self.call_id, self.cseq
        ))
    }

    /// A REGISTER from `to` itself, answered through its challenge with `password`.
    fn authed(&mut self, password: &str, extra: &str) -> Message {
        let to = self.to.to_owned();
        let first = self.send(&to, extra);
        if first.status() != Some(401) {
            return first;
        }
        let challenge = first.www_authenticate().expect("challenge")[0].clone();
        let creds = Auth::new(&to, "asterisk")
            .password(password)
            .algorithms(&Algorithm::ALL);
        let authz = authorization(&challenge, &creds, "REGISTER", "sip:127.0.0.1", "cafe", 1)
            .expect("answer");
        self.send(&to, &format!("{extra}Authorization: {authz}\r\n"))
    }
}

fn call<'a>(c: &'a UdpClient, to: &'a str, id: &str) -> Call<'a> {
    Call {
        c,
        to,
        call_id: id.to_owned(),
        cseq: 0,
    }
}

fn contacts(m: &Message) -> Vec<String> {
    m.values("Contact")
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

fn contact(uri: &str, expires: &str) -> String {
    format!("Contact: <{uri}>\r\nExpires: {expires}\r\n")
}

#[test]
fn registrar_rules_through_the_whole_server() {
    let (server, c, trunk_client) = start();
    let log = || server.log();

    // max_contacts=1 without remove_existing: a second contact is refused, nothing
    // changes; `*` with a non-zero expiration is a 400; `*` with Expires: 0 clears.
    let mut one = call(&c, "one", "one");
    let r = one.authed("pw", &contact("sip:one@127.0.0.1:5001", "120"));
    assert_eq!(r.status(), Some(200), "{r:?}\n{}", log());
    let r = one.authed("pw", &contact("sip:one@127.0.0.1:5002", "120"));
    assert_eq!(r.status(), Some(403), "{r:?}");
    let r = one.authed("pw", "Contact: *\r\nExpires: 60\r\n");
    assert_eq!(r.status(), Some(400), "{r:?}");
    let r = one.authed("pw", "");
    assert_eq!(contacts(&r).len(), 1, "still one: {r:?}");
    let r = one.authed("pw", "Contact: *\r\nExpires: 0\r\n");
    assert_eq!(r.status(), Some(200), "{r:?}");
    assert!(contacts(&r).is_empty(), "{r:?}");

    // remove_existing=yes: the new contact replaces the old one.
    let mut swap = call(&c, "swap", "swap");
    swap.authed("pw", &contact("sip:swap@127.0.0.1:5001", "120"));
    let r = swap.authed("pw", &contact("sip:swap@127.0.0.1:5002", "120"));
    let listed = contacts(&r);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].contains(":5002"), "{listed:?}");
    assert!(log().contains("due to remove existing"), "{}", log());

    // Clamping to [60, 600], the default 300 without any Expires; the static contact
    // is listed without expires; Path is echoed when the client supports it.
    let mut clamp = call(&c, "clamp", "clamp");
    let r = clamp.authed("pw", &contact("sip:clamp@127.0.0.1:5001", "10"));
    let listed = contacts(&r).join(" | ");
    assert!(
        listed.contains("<sip:clamp@127.0.0.1:5001>;expires=60"),
        "{listed}"
    );
    assert!(listed.contains("<sip:desk@192.0.2.10:5060>"), "{listed}");
    let r = clamp.authed("pw", &contact("sip:clamp@127.0.0.1:5002", "99999"));
    assert!(
        contacts(&r).join(" ").contains("5002>;expires=600"),
        "{r:?}"
    );
    let r = clamp.authed("pw", "Contact: <sip:clamp@127.0.0.1:5003>\r\n");
    assert!(
        contacts(&r).join(" ").contains("5003>;expires=300"),
        "{r:?}"
    );
    let path = "Path: <sip:edge.example;lr>\r\nSupported: path\r\n";
    let r = clamp.authed(
        "pw",
        &format!("{path}{}", contact("sip:clamp@127.0.0.1:5004", "60")),
    );
    assert_eq!(r.status(), Some(200), "{r:?}");
    assert!(r.value("Path").is_some(), "Path echoed: {r:?}");

    // SHA-256 only, and md5 auth_type with md5_cred.
    let mut sha = call(&c, "sha", "sha");
    let first = sha.send("sha", "");
    let challenge =
        String::from_utf8_lossy(first.value("WWW-Authenticate").expect("challenge")).into_owned();
    assert!(challenge.contains("algorithm=SHA-256"), "{challenge}");
    let r = sha.authed("pw", &contact("sip:sha@127.0.0.1:5001", "60"));
    assert_eq!(r.status(), Some(200), "{r:?}");
    let r = call(&c, "md5", "md5").authed("pw", &contact("sip:md5@127.0.0.1:5001", "60"));
    assert_eq!(r.status(), Some(200), "{r:?}");

    // An endpoint ACL that denies us: challenged like a wrong password, even with
    // the right one.
    let r = call(&c, "fenced", "fenced").authed("pw", &contact("sip:f@127.0.0.1:5001", "60"));
    assert_eq!(r.status(), Some(401), "{r:?}");
    assert!(log().contains("- Not match Endpoint ACL"), "{}", log());

    // Identified by source IP and port (identify_by=ip, no auth): the From user does
    // not matter.
    let r = call(&trunk_client, "trunk", "trunk")
        .send("whoever", &contact("sip:pbx@127.0.0.1:5001", "60"));
    assert_eq!(r.status(), Some(200), "{r:?}\n{}", log());
    // By header.
    let r = call(&c, "hdr", "hdr").send(
        "whoever",
        &format!(
            "X-Tenant: acme\r\n{}",
            contact("sip:h@127.0.0.1:5001", "60")
        ),
    );
    assert_eq!(r.status(), Some(200), "{r:?}");
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn identify_by_ip_without_a_port_and_other_ports_do_not_match() {
    let (dir, port) = udp_config(
        "registrar-ip",
        "[lan]\ntype=endpoint\naors=lan\n[lan]\ntype=aor\nmax_contacts=1\n\
         [b-lan]\ntype=identify\nendpoint=lan\nmatch=127.0.0.0/8\n\n\
         [pinned]\ntype=endpoint\naors=pinned\n[pinned]\ntype=aor\nmax_contacts=1\n\
         [a-pinned]\ntype=identify\nendpoint=pinned\nmatch=127.0.0.1:9\n",
    );
    let server = Server::start(dir, port);
    let c = UdpClient::new(&server);
    // `a-pinned` is tried first (id order) but names port 9, not ours; `b-lan` (any
    // port) takes the request.
    let r = call(&c, "lan", "lan").send("x", &contact("sip:l@127.0.0.1:5001", "60"));
    assert_eq!(r.status(), Some(200), "{r:?}\n{}", server.log());
    // So `pinned` is never identified from here: its AOR is not lan's, 404.
    let r = call(&c, "pinned", "pinned").send("x", &contact("sip:p@127.0.0.1:5001", "60"));
    assert_eq!(r.status(), Some(404), "{r:?}");
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn identify_by_host_name_matches_its_resolved_addresses() {
    // `localhost` comes from /etc/hosts; `srv_lookups=yes` (the default) asks for its
    // SIP SRV records first and falls back to its addresses. A name that does not
    // resolve matches nothing and does not disturb the other identifies.
    let (dir, port) = udp_config(
        "registrar-host",
        "[a-nowhere]\ntype=identify\nendpoint=nowhere\nmatch=nowhere.invalid\n\
         [nowhere]\ntype=endpoint\naors=nowhere\n[nowhere]\ntype=aor\nmax_contacts=1\n\
         [b-trunk]\ntype=identify\nendpoint=trunk\nmatch=localhost\n\
         [trunk]\ntype=endpoint\naors=trunk\n[trunk]\ntype=aor\nmax_contacts=1\n\
         [c-pinned]\ntype=identify\nendpoint=pinned\nmatch=localhost:9\nsrv_lookups=no\n\
         [pinned]\ntype=endpoint\naors=pinned\n[pinned]\ntype=aor\nmax_contacts=1\n",
    );
    let server = Server::start(dir, port);
    let c = UdpClient::new(&server);
    let r = call(&c, "trunk", "trunk").send("x", &contact("sip:t@127.0.0.1:5001", "60"));
    assert_eq!(r.status(), Some(200), "{r:?}\n{}", server.log());
    // `nowhere` never matched, and `pinned` names another port: neither identifies us,
    // so their AORs are not ours (404 as trunk).
    for aor in ["nowhere", "pinned"] {
        let r = call(&c, aor, aor).send("x", &contact("sip:p@127.0.0.1:5001", "60"));
        assert_eq!(r.status(), Some(404), "{aor}: {r:?}");
    }
    let log = server.log();
    let resolved = log
        .lines()
        .find(|l| l.contains("identify host 'localhost' resolved to"))
        .unwrap_or_else(|| panic!("no resolution logged:\n{log}"));
    assert!(resolved.contains("127.0.0.1"), "{resolved}");
    assert!(
        log.contains("identify host 'nowhere.invalid' does not resolve"),
        "{log}"
    );
    assert_eq!(server.stop(), Some(0));
}
