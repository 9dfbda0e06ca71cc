//! `type=transport`: a listening socket and how messages sent on it are addressed
//! (spec §2.1).

use std::net::{IpAddr, SocketAddr};

use crate::net::IpNet;
use crate::object::{Meta, Object, Opt};
use crate::value::{Accum, Text};
use crate::{choice, impl_tables, opt};

choice! {
    /// The transport protocol.
    pub enum Protocol {
        /// UDP.
        Udp = ["udp"],
        /// TCP.
        Tcp = ["tcp"],
        /// TLS over TCP.
        Tls = ["tls"],
        /// WebSocket (RFC 7118).
        Ws = ["ws"],
        /// Secure WebSocket.
        Wss = ["wss"],
        /// No listener: a flow over an existing connection.
        Flow = ["flow"],
    }
}

choice! {
    /// TLS protocol version selection.
    pub enum TlsMethod {
        /// The library default (TLS 1.2 and 1.3 here).
        Default = ["default", "unspecified"],
        /// TLS 1.0 (refused at start: not offered by the TLS library).
        Tlsv1 = ["tlsv1"],
        /// TLS 1.1 (refused at start: not offered by the TLS library).
        Tlsv1_1 = ["tlsv1_1"],
        /// TLS 1.2 only.
        Tlsv1_2 = ["tlsv1_2"],
        /// TLS 1.3 only.
        Tlsv1_3 = ["tlsv1_3"],
        /// SSLv2 (refused at start).
        Sslv2 = ["sslv2"],
        /// SSLv3 (refused at start).
        Sslv3 = ["sslv3"],
        /// "Any version" in OpenSSL terms: the default here.
        Sslv23 = ["sslv23"],
    }
}

/// A transport.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transport {
    /// Id and extended fields.
    pub meta: Meta,
    /// Protocol.
    pub protocol: Protocol,
    /// `ip[:port]` to listen on (required unless `flow`).
    pub bind: Text,
    /// Asynchronous operations (deprecated; always 1).
    pub async_operations: u32,
    /// CA certificate file.
    pub ca_list_file: Text,
    /// CA certificate directory.
    pub ca_list_path: Text,
    /// Our certificate.
    pub cert_file: Text,
    /// Our key.
    pub priv_key_file: Text,
    /// The key's password.
    pub password: Text,
    /// Cipher list.
    pub cipher: Text,
    /// Domain assumed for requests on this transport.
    pub domain: Text,
    /// Address written into Contact/Via toward non-local destinations.
    pub external_signaling_address: Text,
    /// Port written with it (0: the bound port).
    pub external_signaling_port: u16,
    /// Host name alternative to external_signaling_address.
    pub external_signaling_hostname: Text,
    /// SDP address toward non-local destinations.
    pub external_media_address: Text,
    /// TLS version.
    pub method: TlsMethod,
    /// Networks that are local (no rewriting toward them).
    pub local_net: Accum<IpNet>,
    /// Verify the server certificate as a client.
    pub verify_server: bool,
    /// Verify client certificates.
    pub verify_client: bool,
    /// Require a client certificate.
    pub require_client_cert: bool,
    /// Accept wildcard certificates.
    pub allow_wildcard_certs: bool,
    /// IP ToS/DSCP byte.
    pub tos: Text,
    /// 802.1p class of service.
    pub cos: u32,
    /// WebSocket write timeout, milliseconds.
    pub websocket_write_timeout: u32,
    /// Let reload change this transport.
    pub allow_reload: bool,
    /// Send requests to a peer over the transport it used.
    pub symmetric_transport: bool,
    /// TCP keep-alive on.
    pub tcp_keepalive_enable: bool,
    /// Idle seconds before keep-alive probes.
    pub tcp_keepalive_idle_time: u32,
    /// Seconds between probes.
    pub tcp_keepalive_interval_time: u32,
    /// Probes before giving up.
    pub tcp_keepalive_probe_count: u32,
}

impl_tables!(Transport);

impl Object for Transport {
    const TYPE: &'static str = "transport";

    fn options() -> &'static [Opt<Self>] {
        static OPTS: &[Opt<Transport>] = &[
            opt!("protocol", "udp", protocol),
            opt!("bind", "", bind),
            opt!("async_operations", "1", async_operations),
            opt!("ca_list_file", "", ca_list_file),
            opt!("ca_list_path", "", ca_list_path),
            opt!("cert_file", "", cert_file),
            opt!("priv_key_file", "", priv_key_file),
            opt!("password", "", password),
            opt!("cipher", "", cipher),
            opt!("domain", "", domain),
            opt!("external_signaling_address", "", external_signaling_address),
            opt!("external_signaling_port", "0", external_signaling_port),
            opt!(
                "external_signaling_hostname",
                "",
                external_signaling_hostname
            ),
            opt!("external_media_address", "", external_media_address),
            opt!("method", "default", method),
            opt!("local_net", "", local_net),
            opt!("verify_server", "no", verify_server),
            opt!("verify_client", "no", verify_client),
            opt!("require_client_cert", "no", require_client_cert),
            opt!("allow_wildcard_certs", "no", allow_wildcard_certs),
            opt!("tos", "0", tos),
            opt!("cos", "0", cos),
            opt!("websocket_write_timeout", "100", websocket_write_timeout),
            opt!("allow_reload", "no", allow_reload),
            opt!("symmetric_transport", "no", symmetric_transport),
            opt!("tcp_keepalive_enable", "no", tcp_keepalive_enable),
            opt!("tcp_keepalive_idle_time", "30", tcp_keepalive_idle_time),
            opt!(
                "tcp_keepalive_interval_time",
                "1",
                tcp_keepalive_interval_time
            ),
            opt!("tcp_keepalive_probe_count", "5", tcp_keepalive_probe_count),
        ];
        OPTS
    }

    fn check(&mut self) -> Result<(), String> {
        if self.protocol != Protocol::Flow {
            if self.bind.is_empty() {
                return Err("bind is required (ip[:port])".into());
            }
            self.bind_addr()?;
        }
        if !self.external_signaling_address.is_empty()
            && !self.external_signaling_hostname.is_empty()
        {
            return Err(
                "external_signaling_address and external_signaling_hostname exclude each other"
                    .into(),
            );
        }
        if !self.tos.is_empty() && parse_tos(&self.tos).is_none() {
            return Err(format!(
                "tos '{}' is not a number 0-255 or a DSCP name (cs0-cs7, af11-af43, ef)",
                self.tos
            ));
        }
        if self.cos > 7 {
            return Err(format!("cos {} is above 7", self.cos));
        }
        Ok(())
    }
}

impl Transport {
    /// The socket address to listen on: the port defaults to 5061 for TLS/WSS-less
    /// `tls` and 5060 otherwise.
    pub fn bind_addr(&self) -> Result<SocketAddr, String> {
        let default_port = if self.protocol == Protocol::Tls {
            5061
        } else {
            5060
        };
        let b = self.bind.trim();
        if let Ok(sa) = b.parse::<SocketAddr>() {
            return Ok(sa);
        }
        let host = b
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(b);
        host.parse::<IpAddr>()
            .map(|ip| SocketAddr::new(ip, default_port))
            .map_err(|_| format!("bind '{b}' is not ip[:port]"))
    }
}

/// Reads a `tos` value: a number (decimal or 0x hex) or a DSCP class name.
pub fn parse_tos(text: &str) -> Option<u8> {
    let t = text.trim().to_ascii_lowercase();
    if let Some(hex) = t.strip_prefix("0x") {
        return u8::from_str_radix(hex, 16).ok();
    }
    if let Ok(n) = t.parse::<u8>() {
        return Some(n);
    }
    let dscp = match t.as_str() {
        "ef" => 46,
        _ => {
            if let Some(n) = t.strip_prefix("cs") {
                let n: u8 = n.parse().ok().filter(|n| *n <= 7)?;
                n * 8
            } else if let Some(n) = t.strip_prefix("af") {
                let b = n.as_bytes();
                if b.len() != 2 || !(b'1'..=b'4').contains(&b[0]) || !(b'1'..=b'3').contains(&b[1])
                {
                    return None;
                }
                (b[0] - b'0') * 8 + (b[1] - b'0') * 2
            } else {
                return None;
            }
        }
    };
    Some(dscp << 2)
}
