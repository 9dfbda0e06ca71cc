//! `http.conf`: where the HTTP server listens. SIP over WebSocket (RFC 7118) rides on
//! it, as in Asterisk, where `type=transport` objects with `protocol=ws|wss` have no
//! socket of their own (spec §2.1): the `[general]` section decides the addresses
//! and the certificate; the management API (metrics) will share the server.
//!
//! The options read are Asterisk's names and defaults:
//!
//! * `enabled` (no) — nothing listens unless it is yes;
//! * `bindaddr` — required, as in Asterisk ("you MUST specify this option, or no bind
//!   will happen"); an address, optionally with a port; `bindport` (8088);
//! * `prefix` — a path prefix for every URI (`/prefix/ws`);
//! * `tlsenable` (no), `tlsbindaddr` (the bind address on port 8089), `tlscertfile`,
//!   `tlsprivatekey` (the certificate file when absent);
//! * `sessionlimit` (100) — HTTP connections at once (upgraded WebSocket connections
//!   leave this count and fall under the SIP connection limits);
//! * `session_inactivity` (30000 ms) — longest wait for a request's head.
//!
//! Options that only matter to Asterisk's own pages (`servername`, `enablestatic`,
//! `redirect`, `session_keep_alive`, the `tlsdisable*`/`tlscipher` switches that rustls
//! already decides) are accepted and named in a warning once, so an Asterisk file
//! loads unchanged; anything else is warned about as unknown.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use asterisk_conf::{load, LoadOptions, Source, Var};

/// The HTTP server's settings; `None` listeners mean that side is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConf {
    /// Plain HTTP (`ws:`).
    pub plain: Option<SocketAddr>,
    /// HTTPS (`wss:`), with its certificate and key files.
    pub tls: Option<HttpTls>,
    /// The path prefix, without slashes at either end ("" for none).
    pub prefix: String,
    /// Most HTTP connections at once.
    pub session_limit: usize,
    /// Longest wait for a request head.
    pub inactivity: Duration,
}

/// The HTTPS side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTls {
    /// Where to listen.
    pub bind: SocketAddr,
    /// The certificate chain (PEM).
    pub cert_file: PathBuf,
    /// The private key (PEM); the certificate file when `tlsprivatekey` is absent.
    pub key_file: PathBuf,
}

impl HttpConf {
    /// The path on which WebSocket clients upgrade to SIP.
    pub fn ws_path(&self) -> String {
        if self.prefix.is_empty() {
            "/ws".to_owned()
        } else {
            format!("/{}/ws", self.prefix)
        }
    }
}

/// What reading `http.conf` found: the settings (`None` when the server is off) and
/// lines for the log.
#[derive(Debug, Default)]
pub struct HttpConfReport {
    /// The settings, when the server is enabled and has somewhere to listen.
    pub conf: Option<HttpConf>,
    /// Problems, each naming file:line and option.
    pub warnings: Vec<String>,
}

const IGNORED: &[&str] = &[
    "servername",
    "enablestatic",
    "redirect",
    "session_keep_alive",
    "tlscipher",
    "tlsdisablev1",
    "tlsdisablev11",
    "tlsdisablev12",
    "tlsservercipherorder",
];

/// Reads `http.conf` from `source`. A missing file means no HTTP server (Asterisk's
/// default); a file that cannot be parsed is a warning and no server.
pub fn read(source: &dyn Source, config_dir: &std::path::Path) -> HttpConfReport {
    let mut report = HttpConfReport::default();
    if source.read("http.conf").is_err() {
        return report;
    }
    let config = match load(source, "http.conf", &LoadOptions::default()) {
        Ok(c) => c,
        Err(e) => {
            report
                .warnings
                .push(format!("{e}; the HTTP server (WebSocket transport) is off"));
            return report;
        }
    };
    report
        .warnings
        .extend(config.warnings.iter().map(|w| w.to_string()));
    let Some(general) = config.objects().find(|s| s.name == "general") else {
        return report;
    };
    let mut enabled = false;
    let mut bind_ip: Option<(IpAddr, Option<u16>)> = None;
    let mut bind_port = 8088u16;
    let mut prefix = String::new();
    let mut tls_enabled = false;
    let mut tls_bind: Option<(IpAddr, Option<u16>)> = None;
    let mut cert_file = None;
    let mut key_file = None;
    let mut session_limit = 100usize;
    let mut inactivity_ms = 30_000u64;
    for var in &general.vars {
        let mut bad = |why: &str| {
            report.warnings.push(format!(
                "{}: http.conf option '{}': {why}; ignored",
                var.origin, var.name
            ))
        };
        match var.name.to_ascii_lowercase().as_str() {
            "enabled" => match boolean(var) {
                Some(b) => enabled = b,
                None => bad("not a boolean"),
            },
            "bindaddr" => match addr(&var.value) {
                Some(a) => bind_ip = Some(a),
                None => bad("not an IP address"),
            },
            "bindport" => match var.value.parse::<u16>() {
                Ok(p) if p != 0 => bind_port = p,
                _ => bad("not a port number"),
            },
            "prefix" => prefix = var.value.trim_matches('/').to_owned(),
            "tlsenable" => match boolean(var) {
                Some(b) => tls_enabled = b,
                None => bad("not a boolean"),
            },
            "tlsbindaddr" => match addr(&var.value) {
                Some(a) => tls_bind = Some(a),
                None => bad("not an IP address"),
            },
            "tlscertfile" => cert_file = Some(config_dir.join(&var.value)),
            "tlsprivatekey" => key_file = Some(config_dir.join(&var.value)),
            "sessionlimit" => match var.value.parse::<usize>() {
                Ok(n) if n > 0 => session_limit = n,
                _ => bad("not a positive number"),
            },
            "session_inactivity" => match var.value.parse::<u64>() {
                Ok(n) if n > 0 => inactivity_ms = n,
                _ => bad("not a positive number of milliseconds"),
            },
            name if IGNORED.contains(&name) => bad("has no effect in Switchboard"),
            _ => bad("unknown option"),
        }
    }
    if !enabled {
        return report;
    }
    let Some((ip, port)) = bind_ip else {
        report.warnings.push(format!(
            "{}: http.conf: enabled=yes but no bindaddr; the HTTP server (WebSocket transport) is off",
            general.origin
        ));
        return report;
    };
    let plain = SocketAddr::new(ip, port.unwrap_or(bind_port));
    let tls = if tls_enabled {
        match cert_file {
            Some(cert_file) => {
                let (tip, tport) = tls_bind.unwrap_or((ip, None));
                Some(HttpTls {
                    bind: SocketAddr::new(tip, tport.unwrap_or(8089)),
                    key_file: key_file.unwrap_or_else(|| cert_file.clone()),
                    cert_file,
                })
            }
            None => {
                report.warnings.push(format!(
                    "{}: http.conf: tlsenable=yes but no tlscertfile; HTTPS (WSS) is off",
                    general.origin
                ));
                None
            }
        }
    } else {
        None
    };
    report.conf = Some(HttpConf {
        plain: Some(plain),
        tls,
        prefix,
        session_limit,
        inactivity: Duration::from_millis(inactivity_ms),
    });
    report
}

fn boolean(var: &Var) -> Option<bool> {
    match var.value.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" | "y" | "t" => Some(true),
        "no" | "false" | "off" | "0" | "n" | "f" => Some(false),
        _ => None,
    }
}

/// An IP address, optionally with a port (`[v6]:port` for IPv6 with a port).
fn addr(text: &str) -> Option<(IpAddr, Option<u16>)> {
    let text = text.trim();
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Some((a.ip(), Some(a.port())));
    }
    let bare = text.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().ok().map(|ip| (ip, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use asterisk_conf::MemSource;
    use std::path::Path;

    fn read_text(text: &str) -> HttpConfReport {
        read(
            &MemSource::new().with("http.conf", text),
            Path::new("/etc/x"),
        )
    }

    #[test]
    fn no_file_or_disabled_means_no_server() {
        assert!(read(&MemSource::new(), Path::new("/")).conf.is_none());
        let r = read_text("[general]\nbindaddr=127.0.0.1\n");
        assert!(r.conf.is_none());
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn enabled_without_bindaddr_is_off_with_a_warning() {
        let r = read_text("[general]\nenabled=yes\n");
        assert!(r.conf.is_none());
        assert!(r.warnings[0].contains("no bindaddr"), "{:?}", r.warnings);
    }

    #[test]
    fn defaults_and_prefix() {
        let r = read_text("[general]\nenabled=yes\nbindaddr=0.0.0.0\nprefix=/asterisk/\n");
        let c = r.conf.unwrap();
        assert_eq!(c.plain, Some("0.0.0.0:8088".parse().unwrap()));
        assert_eq!(c.ws_path(), "/asterisk/ws");
        assert_eq!(c.session_limit, 100);
        assert_eq!(c.inactivity, Duration::from_secs(30));
        assert!(c.tls.is_none());
    }

    #[test]
    fn tls_side_defaults_to_port_8089_and_the_cert_as_key() {
        let r = read_text(
            "[general]\nenabled=yes\nbindaddr=127.0.0.1\nbindport=9000\ntlsenable=yes\ntlscertfile=keys/a.pem\n",
        );
        let c = r.conf.unwrap();
        assert_eq!(c.plain, Some("127.0.0.1:9000".parse().unwrap()));
        let tls = c.tls.unwrap();
        assert_eq!(tls.bind, "127.0.0.1:8089".parse().unwrap());
        assert_eq!(tls.cert_file, Path::new("/etc/x/keys/a.pem"));
        assert_eq!(tls.key_file, tls.cert_file);
        let r = read_text(
            "[general]\nenabled=yes\nbindaddr=127.0.0.1\ntlsenable=yes\ntlsbindaddr=[::1]:9443\ntlscertfile=/c.pem\ntlsprivatekey=/k.pem\n",
        );
        let tls = r.conf.unwrap().tls.unwrap();
        assert_eq!(tls.bind, "[::1]:9443".parse().unwrap());
        assert_eq!(tls.key_file, Path::new("/k.pem"));
    }

    #[test]
    fn bad_values_name_the_line_and_keep_the_default() {
        let r = read_text(
            "[general]\nenabled=yes\nbindaddr=127.0.0.1\nbindport=http\nservername=x\nfoo=1\n",
        );
        assert_eq!(
            r.conf.unwrap().plain,
            Some("127.0.0.1:8088".parse().unwrap())
        );
        assert_eq!(r.warnings.len(), 3, "{:?}", r.warnings);
        assert!(r.warnings[0].starts_with("http.conf:4: http.conf option 'bindport'"));
        assert!(r.warnings[1].contains("no effect"));
        assert!(r.warnings[2].contains("unknown option"));
    }

    #[test]
    fn tls_without_certificate_is_off_with_a_warning() {
        let r = read_text("[general]\nenabled=yes\nbindaddr=127.0.0.1\ntlsenable=yes\n");
        let c = r.conf.unwrap();
        assert!(c.tls.is_none());
        assert!(r.warnings[0].contains("no tlscertfile"));
    }
}
