//! The Via header (RFC 3261 §20.42, §18.2.1; RFC 3581 rport).

use std::fmt;

use bytestring::ByteString;

use super::FromHeader;
use crate::params::{first_char, parse_header_params, write_param, Params, Span};
use crate::text::{is_host_char, parse_decimal, skip_lws, split_token};

/// The RFC 3261 branch magic cookie.
pub const BRANCH_COOKIE: &str = "z9hG4bK";

/// One Via value: `SIP/2.0/UDP host:port;branch=...;received=...;rport`.
#[derive(Debug, Clone)]
pub struct Via {
    text: ByteString,
    name: Span,
    version: Span,
    transport: Span,
    host: Span,
    port: Option<u16>,
    params: Params,
}

impl Via {
    /// A new Via for a request we send: `SIP/2.0/<transport> <host>[:<port>];branch=<branch>`.
    /// `host` may be a name, an IPv4 address or an IPv6 address (bracketed or not).
    pub fn new(
        transport: &str,
        host: &str,
        port: Option<u16>,
        branch: &str,
    ) -> Result<Via, String> {
        let host = bracket_v6(host);
        let mut s = format!("SIP/2.0/{transport} {host}");
        if let Some(p) = port {
            s.push_str(&format!(":{p}"));
        }
        s.push_str(";branch=");
        s.push_str(branch);
        Via::from_header(&ByteString::from(s))
    }

    /// The value as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// Protocol name, `SIP`.
    pub fn protocol_name(&self) -> &str {
        self.name.get(&self.text)
    }
    /// Protocol version, `2.0`.
    pub fn protocol_version(&self) -> &str {
        self.version.get(&self.text)
    }
    /// Transport token as written (`UDP`, `tcp`, `WSS`, ...).
    pub fn transport(&self) -> &str {
        self.transport.get(&self.text)
    }
    /// The sent-by host as written (IPv6 in brackets).
    pub fn host(&self) -> &str {
        self.host.get(&self.text)
    }
    /// The sent-by port, if written.
    pub fn port(&self) -> Option<u16> {
        self.port
    }
    /// A parameter by case-insensitive name: `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params.get(&self.text, name)
    }
    /// All parameters in order.
    pub fn params(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.params.iter(&self.text)
    }
    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }
    /// Whether the branch carries the RFC 3261 magic cookie followed by something unique
    /// (RFC 4475 §3.2.1: the bare cookie is not a 3261 branch).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch()
            .is_some_and(|b| b.len() > BRANCH_COOKIE.len() && b.starts_with(BRANCH_COOKIE))
    }
    /// The `received` parameter.
    pub fn received(&self) -> Option<&str> {
        self.param("received").flatten()
    }
    /// The `rport` parameter: `Some(None)` when present without a value (a request
    /// asking for it), `Some(Some(port))` once filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.param("rport")
            .map(|v| v.and_then(|p| parse_decimal(p, 65_535)).map(|p| p as u16))
    }
    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.param("maddr").flatten()
    }
    /// The `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.param("ttl")
            .flatten()
            .and_then(|t| parse_decimal(t, 255))
            .map(|t| t as u8)
    }

    /// A copy with parameter `name` set (replacing an existing one), e.g. `received`
    /// and `rport` when a server stamps a request (RFC 3261 §18.2.1, RFC 3581 §4).
    pub fn with_param(&self, name: &str, value: Option<&str>) -> Via {
        let mut s = format!(
            "{}/{}/{} {}",
            self.protocol_name(),
            self.protocol_version(),
            self.transport(),
            self.host()
        );
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        let mut replaced = false;
        for (n, v) in self.params() {
            let v = if n.eq_ignore_ascii_case(name) {
                if replaced {
                    continue;
                }
                replaced = true;
                value
            } else {
                v
            };
            write_param(&mut s, n, v);
        }
        if !replaced {
            write_param(&mut s, name, value);
        }
        Via::from_header(&ByteString::from(s)).unwrap_or_else(|_| self.clone())
    }
}

fn bracket_v6(host: &str) -> std::borrow::Cow<'_, str> {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]").into()
    } else {
        host.into()
    }
}

impl FromHeader for Via {
    fn from_header(text: &ByteString) -> Result<Self, String> {
        let base: &str = text;
        let s = skip_lws(base);
        let (name, s) = split_token(s);
        if name.is_empty() {
            return Err("missing protocol name".into());
        }
        let s = skip_lws(s)
            .strip_prefix('/')
            .ok_or("expected '/' after the protocol name")?;
        let (version, s) = split_token(skip_lws(s));
        if version.is_empty() {
            return Err("missing protocol version".into());
        }
        let s = skip_lws(s)
            .strip_prefix('/')
            .ok_or("expected '/' after the protocol version")?;
        let (transport, s) = split_token(skip_lws(s));
        if transport.is_empty() {
            return Err("missing transport".into());
        }
        let s = skip_lws(s);
        let (host, s) = if s.starts_with('[') {
            let close = s
                .find(']')
                .ok_or("unterminated IPv6 reference in sent-by")?;
            (&s[..=close], &s[close + 1..])
        } else {
            let n = s.bytes().take_while(|&b| is_host_char(b)).count();
            (&s[..n], &s[n..])
        };
        if host.is_empty() {
            return Err(if s.is_empty() {
                "missing sent-by host".into()
            } else {
                format!("invalid character '{}' in sent-by", first_char(s))
            });
        }
        let mut s = skip_lws(s);
        let mut port = None;
        if let Some(p) = s.strip_prefix(':') {
            let p = skip_lws(p);
            let n = p.bytes().take_while(u8::is_ascii_digit).count();
            port = Some(parse_decimal(&p[..n], 65_535).ok_or("invalid sent-by port")? as u16);
            s = &p[n..];
        }
        let params = parse_header_params(base, s)?;
        let via = Via {
            text: text.clone(),
            name: Span::of(base, name),
            version: Span::of(base, version),
            transport: Span::of(base, transport),
            host: Span::of(base, host),
            port,
            params,
        };
        // One pass over the parameters checks those with a grammar of their own.
        for (n, v) in via.params() {
            if n.eq_ignore_ascii_case("ttl") && v.and_then(|t| parse_decimal(t, 255)).is_none() {
                return Err("ttl must be a number from 0 to 255".into());
            }
            if n.eq_ignore_ascii_case("rport")
                && v.is_some_and(|r| parse_decimal(r, 65_535).is_none())
            {
                return Err("rport must be empty or a port number".into());
            }
            if n.eq_ignore_ascii_case("branch") && v.is_none() {
                return Err("branch parameter without a value".into());
            }
        }
        Ok(via)
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn via(s: &str) -> Via {
        Via::from_header(&ByteString::from(s)).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_with_lws() {
        let v = via("SIP  /   2.0 /UDP    192.0.2.2;branch=390skdjuw");
        assert_eq!(v.protocol_name(), "SIP");
        assert_eq!(v.protocol_version(), "2.0");
        assert_eq!(v.transport(), "UDP");
        assert_eq!(v.host(), "192.0.2.2");
        assert_eq!(v.branch(), Some("390skdjuw"));
        assert!(!v.has_rfc3261_branch());
    }

    #[test]
    fn rport_received_maddr_ttl() {
        let v = via("SIP/2.0/UDP [2001:db8::9]:5070;rport;branch=z9hG4bK77;maddr=224.2.0.1;ttl=16");
        assert_eq!(v.host(), "[2001:db8::9]");
        assert_eq!(v.port(), Some(5070));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.ttl(), Some(16));
        assert_eq!(v.maddr(), Some("224.2.0.1"));
        assert!(v.has_rfc3261_branch());
        let s = v
            .with_param("received", Some("192.0.2.7"))
            .with_param("rport", Some("4000"));
        assert_eq!(s.received(), Some("192.0.2.7"));
        assert_eq!(s.rport(), Some(Some(4000)));
        assert_eq!(s.branch(), Some("z9hG4bK77"));
        assert_eq!(
            s.as_str(),
            "SIP/2.0/UDP [2001:db8::9]:5070;rport=4000;branch=z9hG4bK77;maddr=224.2.0.1;ttl=16;received=192.0.2.7"
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "SIP/2.0/UDP 192.0.2.15;;",
            "SIP/2.0/UDP",
            "SIP/2.0 UDP host",
            "SIP/2.0/UDP host;ttl=300",
            "SIP/2.0/UDP host:99999",
            "SIP/2.0/UDP host;branch",
        ] {
            assert!(Via::from_header(&ByteString::from(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn builds() {
        let v = Via::new("TCP", "::1", Some(5060), "z9hG4bKabc").unwrap();
        assert_eq!(v.as_str(), "SIP/2.0/TCP [::1]:5060;branch=z9hG4bKabc");
    }
}
