//! `switchboard serve`: load the configuration, listen on the configured transports,
//! and answer SIP through the endpoint until SIGTERM or SIGINT. SIGHUP reloads the
//! configuration.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use asterisk_conf::FsSource;
use bytes::Bytes;
use sip_endpoint::{BoxFuture, Endpoint, EndpointConfig, OptionsResponder, Service, Wire};
use sip_message::{Message, Method};
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

impl Peer {
    fn of(message: &Message, source: Source) -> Peer {
        let route = response_route(message.top_via().ok(), &source);
        Peer { source, route }
    }
}

/// The transports as the endpoint's wire.
struct TransportWire(Transports);

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
        Box::pin(self.0.send_routed(&peer.source, peer.route.clone(), bytes))
    }
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
) -> Vec<ListenConfig> {
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
                Ok(tls) => out.push(ListenConfig::tls(bind, tls)),
                Err(e) => tracing::error!("transport '{}': {e}; not listening", t.meta.id),
            }
        } else {
            out.push(ListenConfig::new(protocol, bind));
        }
    }
    if transports.is_empty() {
        let any: SocketAddr = ([0, 0, 0, 0], 5060).into();
        tracing::info!("no transports configured: listening on UDP and TCP {any}");
        out.push(ListenConfig::new(Protocol::Udp, any));
        out.push(ListenConfig::new(Protocol::Tcp, any));
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
    let listen = listeners(&config_dir, &objects, http_conf.as_ref()).await;
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
    let services: Vec<Arc<dyn Service<Peer>>> = vec![Arc::new(OptionsResponder::new(
        &[Method::Options],
        &["application/sdp"],
        &[],
    ))];
    let endpoint = Endpoint::start(config, TransportWire(transports), services);

    let pid_file = data_dir.join("switchboard.pid");
    if let Err(e) = std::fs::write(&pid_file, format!("{}\n", std::process::id())) {
        tracing::warn!("cannot write {}: {e}", pid_file.display());
    }
    #[cfg(unix)]
    let _reloader =
        match sorcery::objects::reload_on_sighup(Arc::clone(&objects), |r| log_report(&r)) {
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
