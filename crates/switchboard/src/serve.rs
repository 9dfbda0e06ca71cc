//! `switchboard serve`: load the configuration, listen on the configured transports,
//! and answer SIP through the endpoint until SIGTERM or SIGINT. SIGHUP reloads the
//! configuration.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use asterisk_conf::FsSource;
use bytes::Bytes;
use sip_endpoint::{
    BoxFuture, Endpoint, EndpointConfig, Local, Nat, Net, Resolver, Target,
    Transport as TargetTransport, Wire,
};
use sip_message::Message;
use sip_services::hosts::HostAddresses;
use sip_transaction::Timers;
use sip_transport::route::{response_route, ResponseRoute};
use sip_transport::{
    Inbound, ListenConfig, Protocol, Source, TlsConfig, TlsSettings, TlsVersions, TransportLimits,
    Transports,
};
use sorcery::objects::{LoadReport, Objects, OpenOptions};

use crate::http;
use crate::http_conf::{self, HttpConf};
use sorcery::tables::SqlOpener;
use sorcery::types::transport::{Protocol as ConfProtocol, TlsMethod, Transport};

/// Where a request came from and where its responses go: the RFC 3261 §18.2.2 route
/// is computed once from the request's top Via when it arrives (a response copies that
/// Via), so sending and retransmitting responses needs no parsing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Peer {
    source: Source,
    route: ResponseRoute,
}

impl sip_services::RequestSource for Peer {
    fn remote(&self) -> SocketAddr {
        self.source.remote
    }
    fn local(&self) -> SocketAddr {
        self.source.local
    }
    fn transport(&self) -> &'static str {
        self.source.protocol.as_str()
    }
    fn reliable(&self) -> bool {
        self.source.protocol.is_reliable()
    }
    fn connection(&self) -> Option<u64> {
        self.source.connection.map(|c| c.get())
    }
}

impl Peer {
    fn of(message: &Message, source: Source) -> Peer {
        let route = response_route(message.top_via().ok(), &source);
        Peer { source, route }
    }
}

/// The transports as the endpoint's wire, with each listener's NAT settings.
struct TransportWire {
    transports: Transports,
    /// Per listener (protocol and bound address, port 0 resolved): its
    /// `external_signaling_*` and `local_net` (spec §2.1).
    nat: Vec<(Protocol, SocketAddr, Arc<Nat>)>,
}

impl TransportWire {
    /// The transports, with the NAT settings given for each listen configuration, in
    /// the order they were configured ([`Transports::local_addrs`] keeps it).
    fn new(transports: Transports, nat: Vec<Nat>) -> TransportWire {
        let nat = transports
            .local_addrs()
            .into_iter()
            .zip(nat.into_iter().chain(std::iter::repeat_with(Nat::none)))
            .map(|((p, a), n)| (p, a, Arc::new(n)))
            .collect();
        TransportWire { transports, nat }
    }

    /// The NAT settings of the listener of `protocol` that `local` belongs to: same
    /// port, and the same IP or a wildcard bind (whose messages carry a concrete
    /// local address).
    fn nat_of(&self, protocol: Protocol, local: SocketAddr) -> Arc<Nat> {
        let hit = |exact: bool| {
            self.nat.iter().find(|(p, a, _)| {
                *p == protocol
                    && a.port() == local.port()
                    && if exact {
                        a.ip() == local.ip()
                    } else {
                        a.ip().is_unspecified()
                    }
            })
        };
        hit(true)
            .or_else(|| hit(false))
            .map_or_else(|| Arc::new(Nat::none()), |(_, _, n)| Arc::clone(n))
    }
}

/// The transport protocol for a resolved target. Requests over WebSocket are not sent
/// yet: the HTTP server, not `Transports`, owns the WS listeners, so there is no local
/// address for the Via (and RFC 7118 §5 has its own sent-by rules).
fn protocol_of(t: TargetTransport) -> std::io::Result<Protocol> {
    match t {
        TargetTransport::Udp => Ok(Protocol::Udp),
        TargetTransport::Tcp => Ok(Protocol::Tcp),
        TargetTransport::Tls => Ok(Protocol::Tls),
        other => Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("sending requests over {other} is not supported yet"),
        )),
    }
}

impl Wire for TransportWire {
    type Source = Peer;

    fn reliable(peer: &Peer) -> bool {
        peer.source.protocol.is_reliable()
    }

    fn send_response<'a>(
        &'a self,
        peer: &'a Peer,
        bytes: Bytes,
    ) -> BoxFuture<'a, std::io::Result<()>> {
        Box::pin(
            self.transports
                .send_routed(&peer.source, peer.route.clone(), bytes),
        )
    }

    /// The protocols we listen on, UDP first (RFC 3263 §4.1 leaves the preference to
    /// the client; UDP is what SIP peers are most sure to run).
    fn transports(&self) -> Vec<TargetTransport> {
        let have: Vec<Protocol> = self.nat.iter().map(|(p, _, _)| *p).collect();
        [
            (Protocol::Udp, TargetTransport::Udp),
            (Protocol::Tcp, TargetTransport::Tcp),
            (Protocol::Tls, TargetTransport::Tls),
        ]
        .into_iter()
        .filter(|(p, _)| have.contains(p))
        .map(|(_, t)| t)
        .collect()
    }

    fn local_for(&self, target: &Target) -> std::io::Result<Local> {
        let protocol = protocol_of(target.transport)?;
        let addr = self.transports.local_addr_for(protocol, target.addr)?;
        Ok(Local {
            addr,
            nat: self.nat_of(protocol, addr),
        })
    }

    fn send_request<'a>(
        &'a self,
        target: &'a Target,
        bytes: Bytes,
    ) -> BoxFuture<'a, std::io::Result<()>> {
        Box::pin(async move {
            let protocol = protocol_of(target.transport)?;
            self.transports
                .send_to_host(protocol, target.addr, Some(&target.host), bytes)
                .await
        })
    }

    /// The listener the request arrived on (for UDP on a wildcard bind the address is
    /// the wildcard: only its port is written into a Contact) and the peer.
    fn path_of(&self, peer: &Peer) -> Option<(Local, SocketAddr)> {
        let local = peer.source.local;
        Some((
            Local {
                addr: local,
                nat: self.nat_of(peer.source.protocol, local),
            },
            peer.source.remote,
        ))
    }
}

/// The NAT settings of a transport object (spec §2.1). `external_signaling_address`
/// and `external_signaling_hostname` exclude each other (the store refuses both);
/// either is written as it is (see `sip_endpoint::nat`).
fn nat_settings(t: &Transport) -> Nat {
    let nets = t
        .local_net
        .iter()
        .filter_map(|n| Net::new(n.addr, n.prefix))
        .collect();
    let external = [
        t.external_signaling_address.trim(),
        t.external_signaling_hostname.trim(),
    ]
    .into_iter()
    .find(|h| !h.is_empty());
    Nat::new(nets, external, t.external_signaling_port)
}

fn log_report(report: &LoadReport) {
    for w in &report.warnings {
        tracing::warn!("{w}");
    }
    for e in &report.errors {
        tracing::error!("{e}");
    }
    for (t, n) in &report.loaded {
        tracing::info!("{t}: {n} loaded");
    }
}

/// A file option of a transport: empty means unset; a relative name is taken from the
/// configuration directory, as Asterisk takes it from its own (`astetcdir`).
fn conf_path(config_dir: &Path, value: &str) -> Option<PathBuf> {
    let value = value.trim();
    (!value.is_empty()).then(|| config_dir.join(value))
}

/// The TLS settings of a `protocol=tls` transport (spec §2.1), loaded. Methods rustls
/// does not implement (TLS 1.0/1.1, SSL) are refused rather than silently upgraded:
/// the operator asked for something this server will not do.
fn tls_config(config_dir: &Path, t: &Transport) -> Result<TlsConfig, String> {
    let versions = match t.method {
        TlsMethod::Default | TlsMethod::Sslv23 => TlsVersions::Default,
        TlsMethod::Tlsv1_2 => TlsVersions::Tls12,
        TlsMethod::Tlsv1_3 => TlsVersions::Tls13,
        other => {
            return Err(format!(
                "method={} is refused: only TLS 1.2 and 1.3 are offered (RFC 8996 deprecates TLS 1.0/1.1; SSL is broken)",
                other.word()
            ))
        }
    };
    if t.cert_file.is_empty() || t.priv_key_file.is_empty() {
        return Err("a TLS transport needs cert_file and priv_key_file".to_owned());
    }
    if !t.cipher.is_empty() {
        tracing::warn!(
            "transport '{}': cipher={} is ignored: rustls offers only its own AEAD, forward-secret suites",
            t.meta.id,
            t.cipher.as_str()
        );
    }
    let settings = TlsSettings {
        cert_file: conf_path(config_dir, &t.cert_file),
        priv_key_file: conf_path(config_dir, &t.priv_key_file),
        ca_list_file: conf_path(config_dir, &t.ca_list_file),
        ca_list_path: conf_path(config_dir, &t.ca_list_path),
        password: (!t.password.is_empty()).then(|| t.password.to_string()),
        versions,
        verify_server: t.verify_server,
        verify_client: t.verify_client,
        require_client_cert: t.require_client_cert,
    };
    TlsConfig::load(&settings).map_err(|e| e.to_string())
}

/// The listeners from the `type=transport` objects; UDP and TCP on 0.0.0.0:5060 when
/// there are none. A transport that cannot be set up (bad TLS files, a bad bind) is
/// named in an error and skipped; the others still start. `ws`/`wss` transports have
/// no socket of their own: the HTTP server from `http.conf` carries them (spec §2.1),
/// and a warning says so when that server is not set up for them.
async fn listeners(
    config_dir: &Path,
    objects: &Objects,
    http: Option<&HttpConf>,
) -> Vec<(ListenConfig, Nat)> {
    let mut out = Vec::new();
    let transports = objects.transport.get_all().await.unwrap_or_default();
    for t in &transports {
        let protocol = match t.protocol {
            ConfProtocol::Udp => Protocol::Udp,
            ConfProtocol::Tcp => Protocol::Tcp,
            ConfProtocol::Tls => Protocol::Tls,
            ConfProtocol::Flow => continue,
            ConfProtocol::Ws | ConfProtocol::Wss => {
                let secure = t.protocol == ConfProtocol::Wss;
                let served = http.is_some_and(|h| {
                    if secure {
                        h.tls.is_some()
                    } else {
                        h.plain.is_some()
                    }
                });
                if !served {
                    tracing::warn!(
                        "transport '{}': protocol={} is carried by the HTTP server, which http.conf does not enable{}; no {} connections will be accepted",
                        t.meta.id,
                        t.protocol.word(),
                        if secure { " with TLS (tlsenable, tlscertfile)" } else { " (enabled, bindaddr)" },
                        t.protocol.word()
                    );
                }
                continue;
            }
        };
        let bind = match t.bind_addr() {
            Ok(bind) => bind,
            Err(e) => {
                tracing::error!("transport '{}': {e}", t.meta.id);
                continue;
            }
        };
        if protocol == Protocol::Tls {
            match tls_config(config_dir, t) {
                Ok(tls) => out.push((ListenConfig::tls(bind, tls), nat_settings(t))),
                Err(e) => tracing::error!("transport '{}': {e}; not listening", t.meta.id),
            }
        } else {
            out.push((ListenConfig::new(protocol, bind), nat_settings(t)));
        }
    }
    if transports.is_empty() {
        let any: SocketAddr = ([0, 0, 0, 0], 5060).into();
        tracing::info!("no transports configured: listening on UDP and TCP {any}");
        out.push((ListenConfig::new(Protocol::Udp, any), Nat::none()));
        out.push((ListenConfig::new(Protocol::Tcp, any), Nat::none()));
    }
    out
}

async fn timers(objects: &Objects) -> Timers {
    match objects.system.get("system").await {
        Ok(Some(s)) => Timers::from_system(s.timer_t1, s.timer_b),
        _ => Timers::default(),
    }
}

/// Runs the server; returns when it is told to stop.
pub fn run(config_dir: &Path, data_dir: &Path) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("switchboard: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(serve(config_dir.to_path_buf(), data_dir.to_path_buf()))
}

async fn serve(config_dir: PathBuf, data_dir: PathBuf) -> ExitCode {
    if !config_dir.is_dir() {
        tracing::error!(
            "configuration directory {} does not exist",
            config_dir.display()
        );
        return ExitCode::from(1);
    }
    if let Err(e) = std::fs::create_dir_all(&data_dir) {
        tracing::error!("cannot create data directory {}: {e}", data_dir.display());
        return ExitCode::from(1);
    }
    let local = format!("sqlite://{}/switchboard.db", data_dir.display());
    let opener = SqlOpener::new(Some(local.clone()));
    let (objects, report) = match Objects::open(OpenOptions {
        source: Arc::new(FsSource::new(&config_dir)),
        local_store_url: Some(local),
        tables: Some(&opener),
    })
    .await
    {
        Ok(o) => o,
        Err(errors) => {
            for e in errors {
                tracing::error!("{e}");
            }
            return ExitCode::from(1);
        }
    };
    log_report(&report);
    let objects = Arc::new(objects);

    let http_report = http_conf::read(&FsSource::new(&config_dir), &config_dir);
    for w in &http_report.warnings {
        tracing::warn!("{w}");
    }
    let http_conf = http_report.conf;
    let (listen, nat): (Vec<ListenConfig>, Vec<Nat>) =
        listeners(&config_dir, &objects, http_conf.as_ref())
            .await
            .into_iter()
            .unzip();
    if listen.is_empty() && http_conf.is_none() {
        // Every configured transport was refused (the reasons are logged above): a
        // server listening on nothing would look healthy and answer nobody.
        tracing::error!("no transport could be started; stopping");
        return ExitCode::from(1);
    }
    let (transports, mut inbound) =
        match Transports::bind(&listen, TransportLimits::default()).await {
            Ok(t) => t,
            Err(e) => {
                tracing::error!("cannot listen: {e}");
                return ExitCode::from(1);
            }
        };
    let _http = match &http_conf {
        Some(conf) => match http::start(conf, transports.clone()).await {
            Ok(server) => Some(server),
            Err(e) => {
                tracing::error!("cannot start the HTTP server (WebSocket transport): {e}");
                if listen.is_empty() {
                    return ExitCode::from(1);
                }
                None
            }
        },
        None => None,
    };
    let http_addrs = _http.iter().flat_map(|h| h.local.iter().copied());
    for (protocol, addr) in transports.local_addrs().into_iter().chain(http_addrs) {
        // One line per listener on stderr: operators and tests read the real port.
        tracing::info!("listening on {protocol:?} {addr}");
    }

    let config = EndpointConfig {
        timers: timers(&objects).await,
        ..EndpointConfig::default()
    };
    let (reg_server, problems) = crate::system_name::read(&FsSource::new(&config_dir));
    for p in problems {
        tracing::warn!("{p}");
    }
    let mut registrations = match crate::services::registrations(&objects, reg_server).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(1);
        }
    };
    // Identify host names, resolved when first needed and again after each reload.
    let hosts = Arc::new(HostAddresses::new(Resolver::from_system().ok()));
    let services = match crate::services::build::<Peer>(
        &config_dir,
        &objects,
        &registrations,
        Arc::clone(&hosts),
    )
    .await
    {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot start the request pipeline: {e}");
            return ExitCode::from(1);
        }
    };
    let mut endpoint = Endpoint::start(config, TransportWire::new(transports, nat), services);
    // RFC 3263 lookups for the requests the endpoint sends (qualify, outbound
    // registration). Without DNS configuration only numeric hosts can be reached.
    match Resolver::from_system() {
        Ok(resolver) => endpoint = endpoint.with_resolver(resolver),
        Err(e) => tracing::warn!("no DNS resolver ({e}): requests can only go to IP addresses"),
    }
    // Shared with the qualify scheduler, which sends its OPTIONS through it.
    let endpoint = Arc::new(endpoint);
    let _qualifier =
        crate::services::start_qualify(&objects, &mut registrations, Arc::clone(&endpoint)).await;

    let pid_file = data_dir.join("switchboard.pid");
    if let Err(e) = std::fs::write(&pid_file, format!("{}\n", std::process::id())) {
        tracing::warn!("cannot write {}: {e}", pid_file.display());
    }
    #[cfg(unix)]
    let _reloader = match sorcery::objects::reload_on_sighup(Arc::clone(&objects), move |r| {
        hosts.forget();
        log_report(&r)
    }) {
        Ok(task) => Some(task),
        Err(e) => {
            tracing::warn!("SIGHUP reload unavailable: {e}");
            None
        }
    };

    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            message = inbound.recv() => match message {
                Some(Inbound::Message { message, source }) => {
                    let peer = Peer::of(&message, source);
                    endpoint.dispatch(message, peer).await;
                }
                Some(Inbound::Malformed { head, reason, source }) => {
                    let peer = Peer::of(&head, source);
                    endpoint.reject_malformed(head, &reason, peer).await;
                }
                Some(Inbound::Closed { connection, .. }) => {
                    // Its prune_on_boot contacts go (spec §6.7).
                    registrations.connection_closed(connection.get());
                }
                None => break,
            },
        }
    }
    tracing::info!("stopping");
    let _ = std::fs::remove_file(&pid_file);
    ExitCode::SUCCESS
}

/// SIGTERM or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The loopback DNS server the resolver's tests use.
#[cfg(test)]
#[path = "../../resolver/tests/support/mod.rs"]
mod dns_support;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sip_endpoint::{Destination, OutgoingRequest};
    use tokio::net::UdpSocket;

    use super::dns_support::{DnsServer, Zone};
    use super::*;

    /// The transport object's options become the NAT rules, and each listener (wildcard
    /// binds included) finds its own.
    #[tokio::test]
    async fn nat_settings_come_from_the_transport_object() {
        let t = Transport {
            external_signaling_address: "198.51.100.7".into(),
            external_signaling_port: 5070,
            local_net: sorcery::value::Accum(
                vec![sorcery::net::IpNet {
                    addr: "10.0.0.0".parse().unwrap(),
                    prefix: 8,
                }]
                .into_boxed_slice(),
            ),
            ..Transport::default()
        };
        let nat = nat_settings(&t);
        let local: SocketAddr = "10.0.0.5:5060".parse().unwrap();
        assert_eq!(
            nat.address_for(local, "203.0.113.1".parse().unwrap())
                .to_string(),
            "198.51.100.7:5070"
        );
        assert_eq!(
            nat.address_for(local, "10.2.3.4".parse().unwrap())
                .to_string(),
            "10.0.0.5:5060"
        );
        let by_name = nat_settings(&Transport {
            external_signaling_hostname: "pbx.example.com".into(),
            ..Transport::default()
        });
        assert!(by_name.rewrites_for("203.0.113.1".parse().unwrap()));
        assert!(!nat_settings(&Transport::default()).rewrites_for("203.0.113.1".parse().unwrap()));

        let listen = [
            ListenConfig::new(Protocol::Udp, "0.0.0.0:0".parse().unwrap()),
            ListenConfig::new(Protocol::Tcp, "127.0.0.1:0".parse().unwrap()),
        ];
        let (transports, _rx) = Transports::bind(&listen, TransportLimits::default())
            .await
            .unwrap();
        let udp_port = transports.local_addrs()[0].1.port();
        let wire = TransportWire::new(transports, vec![nat, Nat::none()]);
        assert_eq!(
            wire.transports(),
            vec![TargetTransport::Udp, TargetTransport::Tcp]
        );
        let concrete = SocketAddr::new("127.0.0.1".parse().unwrap(), udp_port);
        assert!(wire
            .nat_of(Protocol::Udp, concrete)
            .rewrites_for("203.0.113.1".parse().unwrap()));
        let target = Target {
            transport: TargetTransport::Udp,
            addr: "127.0.0.1:5060".parse().unwrap(),
            host: "127.0.0.1".into(),
        };
        let local = wire.local_for(&target).unwrap();
        assert_eq!(local.addr, concrete);
        let ws = Target {
            transport: TargetTransport::Ws,
            ..target
        };
        assert!(wire.local_for(&ws).is_err(), "no WebSocket in this build");
    }

    /// End to end on 127.0.0.1: the real transports, the real resolver against a
    /// loopback DNS server whose SRV names two targets; the first never answers, so
    /// after Timer F (64×T1, T1 = 10 ms here) the request goes to the second, with a new
    /// branch, and its 200 is the answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn srv_failover_to_the_second_target_over_real_udp() {
        tokio::time::timeout(Duration::from_secs(20), failover())
            .await
            .expect("bounded in time");
    }

    async fn failover() {
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let answering = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let answering_addr = answering.local_addr().unwrap();
        let zone = Zone::new()
            .srv(
                "_sip._udp.example.test",
                10,
                0,
                silent.local_addr().unwrap().port(),
                "a.example.test",
            )
            .srv(
                "_sip._udp.example.test",
                20,
                0,
                answering_addr.port(),
                "b.example.test",
            )
            .a("a.example.test", "127.0.0.1")
            .a("b.example.test", "127.0.0.1");
        let dns = DnsServer::start(zone).await;

        let listen = [ListenConfig::new(
            Protocol::Udp,
            "127.0.0.1:0".parse().unwrap(),
        )];
        let (transports, mut inbound) = Transports::bind(&listen, TransportLimits::default())
            .await
            .unwrap();
        let ours = transports.local_addrs()[0].1;
        let config = EndpointConfig {
            shards: 2,
            timers: Timers::with_t1(Duration::from_millis(10)),
            ..EndpointConfig::default()
        };
        let wire = TransportWire::new(transports, vec![Nat::none()]);
        let endpoint = Arc::new(
            Endpoint::start(config, wire, Vec::new())
                .with_resolver(Resolver::with_nameservers(&[dns.addr]).unwrap()),
        );
        let pump = Arc::clone(&endpoint);
        tokio::spawn(async move {
            while let Some(event) = inbound.recv().await {
                if let Inbound::Message { message, source } = event {
                    let peer = Peer::of(&message, source);
                    pump.dispatch(message, peer).await;
                }
            }
        });
        // The second target answers 200 to whatever it gets, where it came from.
        let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            while let Ok((n, from)) = answering.recv_from(&mut buf).await {
                let Ok(request) = Message::parse(Bytes::copy_from_slice(&buf[..n])) else {
                    continue;
                };
                let response = Message::response_to(&request, 200, None).to_bytes();
                let _ = seen_tx.send(request);
                let _ = answering.send_to(&response, from).await;
            }
        });

        let request = Message::parse(Bytes::from_static(
            b"OPTIONS sip:bob@example.test SIP/2.0\r\n\
              From: <sip:qualify@pbx.test>;tag=f1\r\n\
              To: <sip:bob@example.test>\r\n\
              Call-ID: failover-1\r\n\
              CSeq: 1 OPTIONS\r\n\
              Content-Length: 0\r\n\r\n",
        ))
        .unwrap();
        let r = endpoint
            .send_request(OutgoingRequest::new(request).to(Destination::RequestUri))
            .await
            .expect("an answer from the second target");
        assert_eq!(r.response.status(), Some(200));
        assert_eq!(r.attempts, 2);
        assert_eq!(r.target.addr, answering_addr);
        assert_eq!(r.target.host, "example.test");

        // The first target got the request (and its retransmissions) and said nothing;
        // the second got a new transaction from the same sent-by.
        let mut buf = vec![0u8; 65536];
        let (n, _) = silent.recv_from(&mut buf).await.unwrap();
        let first = Message::parse(Bytes::copy_from_slice(&buf[..n])).unwrap();
        let second = seen
            .recv()
            .await
            .expect("the second target saw the request");
        for m in [&first, &second] {
            let via = m.top_via().unwrap();
            assert_eq!((via.host(), via.port()), ("127.0.0.1", Some(ours.port())));
            assert_eq!(via.transport(), "UDP");
        }
        assert_ne!(
            first.top_via().unwrap().branch(),
            second.top_via().unwrap().branch()
        );
    }
}
