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
use sip_transport::{Inbound, ListenConfig, Protocol, Source, TransportLimits, Transports};
use sorcery::objects::{LoadReport, Objects, OpenOptions};
use sorcery::tables::SqlOpener;
use sorcery::types::transport::Protocol as ConfProtocol;

/// The transports as the endpoint's wire.
struct TransportWire(Transports);

impl Wire for TransportWire {
    type Source = Source;

    fn reliable(source: &Source) -> bool {
        source.protocol != Protocol::Udp
    }

    fn send_response<'a>(
        &'a self,
        source: &'a Source,
        bytes: Bytes,
    ) -> BoxFuture<'a, std::io::Result<()>> {
        Box::pin(async move {
            // The transports route a response by its Via (RFC 3261 §18.2.2), so they
            // need the message; the transaction layer keeps responses as bytes.
            let response = Message::parse(bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
            self.0.send_response(source, &response).await
        })
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

/// The listeners from the `type=transport` objects; UDP and TCP on 0.0.0.0:5060 when
/// there are none. Protocols this build cannot serve yet are named and skipped.
async fn listeners(objects: &Objects) -> Vec<ListenConfig> {
    let mut out = Vec::new();
    let transports = objects.transport.get_all().await.unwrap_or_default();
    for t in &transports {
        let protocol = match t.protocol {
            ConfProtocol::Udp => Protocol::Udp,
            ConfProtocol::Tcp => Protocol::Tcp,
            ConfProtocol::Flow => continue,
            other => {
                tracing::error!(
                    "transport '{}': protocol {} is not supported by this build yet; not listening",
                    t.meta.id,
                    other.word()
                );
                continue;
            }
        };
        match t.bind_addr() {
            Ok(bind) => out.push(ListenConfig { protocol, bind }),
            Err(e) => tracing::error!("transport '{}': {e}", t.meta.id),
        }
    }
    if transports.is_empty() {
        let any: SocketAddr = ([0, 0, 0, 0], 5060).into();
        tracing::info!("no transports configured: listening on UDP and TCP {any}");
        out.push(ListenConfig {
            protocol: Protocol::Udp,
            bind: any,
        });
        out.push(ListenConfig {
            protocol: Protocol::Tcp,
            bind: any,
        });
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

    let listen = listeners(&objects).await;
    let (transports, mut inbound) =
        match Transports::bind(&listen, TransportLimits::default()).await {
            Ok(t) => t,
            Err(e) => {
                tracing::error!("cannot listen: {e}");
                return ExitCode::from(1);
            }
        };
    for (protocol, addr) in transports.local_addrs() {
        // One line per listener on stderr: operators and tests read the real port.
        tracing::info!("listening on {protocol:?} {addr}");
    }

    let config = EndpointConfig {
        timers: timers(&objects).await,
        ..EndpointConfig::default()
    };
    let services: Vec<Arc<dyn Service<Source>>> = vec![Arc::new(OptionsResponder::new(
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
                Some(Inbound::Message { message, source }) => endpoint.dispatch(message, source).await,
                Some(Inbound::Malformed { head, reason, source }) => {
                    endpoint.reject_malformed(head, &reason, source).await;
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
