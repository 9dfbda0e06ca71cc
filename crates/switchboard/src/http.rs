//! The HTTP server (hyper): today it carries SIP over WebSocket (RFC 7118) at
//! `/ws` (under `prefix`), and the management API will add its paths here.
//!
//! A WebSocket upgrade is accepted only with the `sip` subprotocol (RFC 7118 §4.1:
//! the client MUST offer it; a server that answered without it would leave the client
//! to fail the connection anyway, RFC 6455 §4.1), WebSocket version 13, and within the
//! SIP connection limits; the upgraded connection is then handed to the transports and
//! carries SIP like any other stream. Every other request gets a plain HTTP error.
//!
//! Bounds: at most `sessionlimit` HTTP connections at once (beyond it new ones are
//! closed at once), a request head must arrive within `session_inactivity`, a TLS
//! handshake within 10 s.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use sip_transport::tokio_rustls::TlsAcceptor;
use sip_transport::{Protocol, TlsConfig, TlsSettings, Transports};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::http_conf::HttpConf;

/// Longest a TLS handshake on the HTTPS port may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The running HTTP listeners; dropping it stops them (connections already upgraded
/// to WebSocket belong to the transports and stay).
pub struct HttpServer {
    /// The bound addresses with their WebSocket protocol, port 0 resolved.
    pub local: Vec<(Protocol, SocketAddr)>,
    _tasks: JoinSet<()>,
}

/// What every connection's request handler needs.
struct Context {
    transports: Transports,
    ws_path: String,
}

/// Binds the listeners `conf` asks for. Fails when an address cannot be bound or the
/// HTTPS certificate cannot be loaded (the caller logs it and runs without).
pub async fn start(conf: &HttpConf, transports: Transports) -> io::Result<HttpServer> {
    let context = Arc::new(Context {
        transports,
        ws_path: conf.ws_path(),
    });
    let limit = Arc::new(Semaphore::new(conf.session_limit));
    let mut tasks = JoinSet::new();
    let mut local = Vec::new();
    if let Some(bind) = conf.plain {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        local.push((Protocol::Ws, addr));
        tasks.spawn(accept_loop(
            listener,
            None,
            context.clone(),
            limit.clone(),
            conf.inactivity,
        ));
    }
    if let Some(tls) = &conf.tls {
        let settings = TlsSettings {
            cert_file: Some(tls.cert_file.clone()),
            priv_key_file: Some(tls.key_file.clone()),
            ..TlsSettings::default()
        };
        let config = TlsConfig::load(&settings)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let server = config.server_config().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "HTTPS needs a certificate")
        })?;
        let listener = TcpListener::bind(tls.bind).await?;
        let addr = listener.local_addr()?;
        local.push((Protocol::Wss, addr));
        tasks.spawn(accept_loop(
            listener,
            Some(TlsAcceptor::from(server)),
            context.clone(),
            limit.clone(),
            conf.inactivity,
        ));
    }
    Ok(HttpServer {
        local,
        _tasks: tasks,
    })
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    context: Arc<Context>,
    limit: Arc<Semaphore>,
    inactivity: Duration,
) {
    let mut connections = JoinSet::new();
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "HTTP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Reap finished connection tasks so the set does not grow.
        while connections.try_join_next().is_some() {}
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            tracing::debug!(%remote, "HTTP session limit reached: connection closed");
            continue;
        };
        let local = match stream.local_addr() {
            Ok(a) => a,
            Err(_) => continue,
        };
        let context = context.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let _permit = permit;
            serve_connection(stream, tls, context, local, remote, inactivity).await;
        });
    }
}

async fn serve_connection(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    context: Arc<Context>,
    local: SocketAddr,
    remote: SocketAddr,
    inactivity: Duration,
) {
    let _ = stream.set_nodelay(true);
    match tls {
        None => serve_http(stream, Protocol::Ws, context, local, remote, inactivity).await,
        Some(acceptor) => {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => {
                    serve_http(stream, Protocol::Wss, context, local, remote, inactivity).await
                }
                Ok(Err(e)) => tracing::info!(%remote, error = %e, "HTTPS handshake failed"),
                Err(_) => tracing::info!(%remote, "HTTPS handshake timed out"),
            }
        }
    }
}

async fn serve_http<S>(
    stream: S,
    protocol: Protocol,
    context: Arc<Context>,
    local: SocketAddr,
    remote: SocketAddr,
    inactivity: Duration,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let context = context.clone();
        async move { Ok::<_, Infallible>(handle(request, &context, protocol, local, remote)) }
    });
    let result = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(inactivity)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
    if let Err(e) = result {
        tracing::debug!(%remote, error = %e, "HTTP connection ended with an error");
    }
}

fn handle(
    request: Request<Incoming>,
    context: &Arc<Context>,
    protocol: Protocol,
    local: SocketAddr,
    remote: SocketAddr,
) -> Response<Full<Bytes>> {
    if request.uri().path() != context.ws_path {
        return plain(StatusCode::NOT_FOUND, "Not Found\n");
    }
    let key = match check_upgrade(request.method(), request.headers()) {
        Ok(key) => key,
        Err((status, why)) => {
            tracing::info!(%remote, "WebSocket upgrade refused: {why}");
            let mut response = plain(status, &format!("{why}\n"));
            if status == StatusCode::UPGRADE_REQUIRED {
                response.headers_mut().insert(
                    header::SEC_WEBSOCKET_VERSION,
                    HeaderValue::from_static("13"),
                );
            }
            return response;
        }
    };
    if !context.transports.admits(remote) {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "SIP connection limit reached\n",
        );
    }
    let accept = sip_transport::websocket_accept_key(key.as_bytes());
    let transports = context.transports.clone();
    tokio::spawn(async move {
        match hyper::upgrade::on(request).await {
            Ok(upgraded) => {
                transports
                    .accept_websocket(TokioIo::new(upgraded), protocol, local, remote)
                    .await;
            }
            Err(e) => tracing::info!(%remote, error = %e, "WebSocket upgrade failed"),
        }
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static("sip"),
    );
    if let Ok(v) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    response
}

/// Checks an upgrade request (RFC 6455 §4.2.1, RFC 7118 §4.1); returns the client's
/// key, or the status and reason to refuse with.
fn check_upgrade(method: &Method, headers: &HeaderMap) -> Result<String, (StatusCode, String)> {
    let bad = |why: &str| Err((StatusCode::BAD_REQUEST, why.to_owned()));
    if method != Method::GET {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            "a WebSocket upgrade is a GET".to_owned(),
        ));
    }
    if !has_token(headers, &header::UPGRADE, "websocket")
        || !has_token(headers, &header::CONNECTION, "upgrade")
    {
        return Err((
            StatusCode::UPGRADE_REQUIRED,
            "this path only serves WebSocket (Upgrade: websocket)".to_owned(),
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        != Some("13")
    {
        return Err((
            StatusCode::UPGRADE_REQUIRED,
            "unsupported WebSocket version (13 is)".to_owned(),
        ));
    }
    let Some(key) = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
    else {
        return bad("no Sec-WebSocket-Key");
    };
    if !has_token(headers, &header::SEC_WEBSOCKET_PROTOCOL, "sip") {
        return bad("the WebSocket subprotocol 'sip' is required (RFC 7118)");
    }
    Ok(key.to_owned())
}

/// Whether a comma-separated header (any of its lines) holds `token`, ignoring case.
fn has_token(headers: &HeaderMap, name: &header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::copy_from_slice(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    const GOOD: &[(&str, &str)] = &[
        ("upgrade", "WebSocket"),
        ("connection", "keep-alive, Upgrade"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("sec-websocket-protocol", "chat, sip"),
    ];

    #[test]
    fn a_proper_sip_upgrade_is_accepted() {
        assert_eq!(
            check_upgrade(&Method::GET, &headers(GOOD)).unwrap(),
            "dGhlIHNhbXBsZSBub25jZQ=="
        );
        // RFC 6455 §1.3's worked example.
        assert_eq!(
            sip_transport::websocket_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn refusals_say_why() {
        let without = |name: &str| {
            let pairs: Vec<_> = GOOD.iter().copied().filter(|(n, _)| *n != name).collect();
            check_upgrade(&Method::GET, &headers(&pairs)).unwrap_err()
        };
        let (status, why) = without("sec-websocket-protocol");
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(why.contains("'sip'"));
        assert_eq!(without("upgrade").0, StatusCode::UPGRADE_REQUIRED);
        assert_eq!(
            without("sec-websocket-version").0,
            StatusCode::UPGRADE_REQUIRED
        );
        assert_eq!(without("sec-websocket-key").0, StatusCode::BAD_REQUEST);
        assert_eq!(
            check_upgrade(&Method::POST, &headers(GOOD)).unwrap_err().0,
            StatusCode::METHOD_NOT_ALLOWED
        );
    }
}
