//! URIs: `sip:`, `sips:` and `tel:` parsed into their parts, any other scheme kept as
//! an opaque absolute URI (so that a server can answer 416 instead of 400), and
//! comparison by the rules of RFC 3261 §19.1.4.
//!
//! A URI keeps its text as written plus spans into it; `%HH` escapes are left in place
//! and decoded (exactly once) by the `*_decoded` accessors and by comparison.

use std::borrow::Cow;
use std::fmt;

use bytestring::ByteString;

use crate::params::{write_param, Param, Span, UriParams};
use crate::text::{
    find_byte, is_escaped_run, is_hnv_char, is_host_char, is_param_char, is_password_char,
    is_scheme_char, is_user_char, percent_decode,
};

/// Any URI that can appear in a Request-URI or a name-addr.
#[derive(Debug, Clone)]
pub enum Uri {
    /// `sip:` or `sips:`.
    Sip(SipUri),
    /// `tel:` (RFC 3966).
    Tel(TelUri),
    /// Any other `scheme:opaque` URI, kept verbatim.
    Other(AbsoluteUri),
}

/// Why a URI could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriError(String);

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UriError {}

fn err<T>(s: impl Into<String>) -> Result<T, UriError> {
    Err(UriError(s.into()))
}

impl Uri {
    /// Parses a URI from a string (copied once into a shared buffer).
    pub fn parse(s: &str) -> Result<Uri, UriError> {
        Uri::parse_shared(&ByteString::from(s))
    }

    /// Parses a URI that is the whole of `text`, sharing its buffer.
    pub fn parse_shared(text: &ByteString) -> Result<Uri, UriError> {
        let s: &str = text;
        let colon = match find_byte(s, b':') {
            Some(i) if i > 0 => i,
            _ => return err("URI has no scheme"),
        };
        let scheme = &s[..colon];
        if !scheme.as_bytes()[0].is_ascii_alphabetic() || !scheme.bytes().all(is_scheme_char) {
            return err(format!("invalid URI scheme '{scheme}'"));
        }
        if scheme.eq_ignore_ascii_case("sip") {
            SipUri::parse_after_scheme(text, false, colon + 1).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("sips") {
            SipUri::parse_after_scheme(text, true, colon + 1).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("tel") {
            TelUri::parse_after_scheme(text, colon + 1).map(Uri::Tel)
        } else {
            let rest = &s[colon + 1..];
            if rest.is_empty() {
                return err("URI has nothing after its scheme");
            }
            if let Some(b) = rest
                .bytes()
                .find(|b| b.is_ascii_whitespace() || b.is_ascii_control())
            {
                return err(format!("URI contains the character 0x{b:02x}"));
            }
            Ok(Uri::Other(AbsoluteUri {
                text: text.clone(),
                scheme_len: colon as u32,
            }))
        }
    }

    /// The URI as written.
    pub fn as_str(&self) -> &str {
        match self {
            Uri::Sip(u) => u.as_str(),
            Uri::Tel(u) => u.as_str(),
            Uri::Other(u) => u.as_str(),
        }
    }

    /// The scheme as written (`sip`, `SIPS`, `tel`, ...).
    pub fn scheme(&self) -> &str {
        match self {
            Uri::Sip(u) => u.scheme(),
            Uri::Tel(_) => &self.as_str()[..3],
            Uri::Other(u) => u.scheme(),
        }
    }

    /// The SIP/SIPS URI, if this is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Uri {
    /// RFC 3261 §19.1.4 for SIP/SIPS, RFC 3966 §4 (simplified) for tel, and exact
    /// scheme-insensitive text for anything else.
    fn eq(&self, other: &Uri) -> bool {
        match (self, other) {
            (Uri::Sip(a), Uri::Sip(b)) => a == b,
            (Uri::Tel(a), Uri::Tel(b)) => a == b,
            (Uri::Other(a), Uri::Other(b)) => {
                a.scheme().eq_ignore_ascii_case(b.scheme()) && a.opaque() == b.opaque()
            }
            _ => false,
        }
    }
}

/// A `sip:` or `sips:` URI (RFC 3261 §19.1).
#[derive(Debug, Clone)]
pub struct SipUri {
    text: ByteString,
    secure: bool,
    scheme_len: u8,
    user: Option<Span>,
    password: Option<Span>,
    host: Span,
    port: Option<u16>,
    params: UriParams,
    headers: Option<Span>,
}

impl SipUri {
    /// Parses a `sip:`/`sips:` URI from a string.
    pub fn parse(s: &str) -> Result<SipUri, UriError> {
        match Uri::parse(s)? {
            Uri::Sip(u) => Ok(u),
            _ => err("not a sip: or sips: URI"),
        }
    }

    fn parse_after_scheme(
        text: &ByteString,
        secure: bool,
        start: usize,
    ) -> Result<SipUri, UriError> {
        let base: &str = text;
        let rest = &base[start..];
        let (userinfo, hostpart) = match find_byte(rest, b'@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let mut user = None;
        let mut password = None;
        if let Some(ui) = userinfo {
            let (u, p) = match find_byte(ui, b':') {
                Some(c) => (&ui[..c], Some(&ui[c + 1..])),
                None => (ui, None),
            };
            if u.is_empty() {
                return err("empty user part before '@'");
            }
            if !is_escaped_run(u, is_user_char) {
                return err(format!("invalid character in the user part '{u}'"));
            }
            if let Some(p) = p {
                if !is_escaped_run(p, is_password_char) {
                    return err("invalid character in the password");
                }
                password = Some(Span::of(base, p));
            }
            user = Some(Span::of(base, u));
        }
        // One forward scan over host, port and parameters.
        let hb = hostpart.as_bytes();
        let (host, mut i) = scan_host(hostpart)?;
        let mut port = None;
        if hb.get(i) == Some(&b':') {
            let ps = i + 1;
            i = ps
                + hb[ps..]
                    .iter()
                    .take_while(|&&b| b != b';' && b != b'?')
                    .count();
            let p = &hostpart[ps..i];
            match crate::text::parse_decimal(p, 65_535) {
                Some(v) => port = Some(v as u16),
                None => return err(format!("invalid port '{p}'")),
            }
        }
        let mut params = UriParams::default();
        while hb.get(i) == Some(&b';') {
            if params.len() >= MAX_URI_PARAMS {
                return err("too many URI parameters");
            }
            let ns = i + 1;
            i = ns + scan_param_chars(&hb[ns..]);
            let name = &hostpart[ns..i];
            if name.is_empty() {
                return err("empty URI parameter");
            }
            let mut value = None;
            if hb.get(i) == Some(&b'=') {
                let vs = i + 1;
                i = vs + scan_param_chars(&hb[vs..]);
                if i == vs {
                    return err(format!("invalid value for URI parameter '{name}'"));
                }
                value = Some(&hostpart[vs..i]);
            }
            if !matches!(hb.get(i), None | Some(b';' | b'?')) {
                return err(format!("invalid character in URI parameter '{name}'"));
            }
            if (name.contains('%') && !is_escaped_run(name, is_param_char))
                || value.is_some_and(|v| v.contains('%') && !is_escaped_run(v, is_param_char))
            {
                return err(format!("invalid escape in URI parameter '{name}'"));
            }
            params.push(Param::new(
                Span::of(base, name),
                value.map(|v| Span::of(base, v)),
            ));
        }
        let after = &hostpart[i..];
        let mut headers = None;
        if let Some(h) = after.strip_prefix('?') {
            for field in h.split('&') {
                let Some((n, v)) = field.split_once('=') else {
                    return err("URI header without '='");
                };
                if n.is_empty()
                    || !is_escaped_run(n, is_hnv_char)
                    || !is_escaped_run(v, is_hnv_char)
                {
                    return err(format!("invalid URI header '{field}'"));
                }
            }
            headers = Some(Span::of(base, h));
        }
        Ok(SipUri {
            text: text.clone(),
            secure,
            scheme_len: (start - 1) as u8,
            user,
            password,
            host: Span::of(base, host),
            port,
            params,
            headers,
        })
    }

    /// The URI as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The shared text of the URI.
    pub fn text(&self) -> &ByteString {
        &self.text
    }

    /// `sip` or `sips` as written.
    pub fn scheme(&self) -> &str {
        &self.text[..self.scheme_len as usize]
    }

    /// True for `sips:`.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The user part as written (escapes not decoded).
    pub fn user(&self) -> Option<&str> {
        self.user.map(|s| s.get(&self.text))
    }

    /// The user part with `%HH` escapes decoded once. Bytes, because `%00` is legal.
    pub fn user_decoded(&self) -> Option<Cow<'_, [u8]>> {
        self.user().map(percent_decode)
    }

    /// The password as written.
    pub fn password(&self) -> Option<&str> {
        self.password.map(|s| s.get(&self.text))
    }

    /// The host as written: a name, an IPv4 address or a bracketed IPv6 reference.
    pub fn host(&self) -> &str {
        self.host.get(&self.text)
    }

    /// The explicit port, if any.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// A URI parameter by case-insensitive name: `Some(None)` for a flag like `lr`.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params.get(&self.text, name)
    }

    /// All URI parameters in order.
    pub fn params(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.params.iter(&self.text)
    }

    /// The `transport` parameter.
    pub fn transport(&self) -> Option<&str> {
        self.param("transport").flatten()
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.param("maddr").flatten()
    }

    /// Whether the `lr` (loose routing) flag is present.
    pub fn lr(&self) -> bool {
        self.param("lr").is_some()
    }

    /// The header part after `?`, as written.
    pub fn headers_str(&self) -> Option<&str> {
        self.headers.map(|s| s.get(&self.text))
    }

    /// The URI headers as (name, value) pairs, escapes not decoded.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers_str()
            .into_iter()
            .flat_map(|h| h.split('&'))
            .filter_map(|f| f.split_once('='))
    }

    /// The URI without parameters and headers: `sip:user@host:port`.
    pub fn without_params(&self) -> String {
        let end = self.port_end();
        self.text[..end].to_owned()
    }

    fn port_end(&self) -> usize {
        let host_end = self.host.end as usize;
        match self.port {
            Some(_) => {
                let t: &str = &self.text;
                let digits = t[host_end + 1..]
                    .bytes()
                    .take_while(u8::is_ascii_digit)
                    .count();
                host_end + 1 + digits
            }
            None => host_end,
        }
    }

    /// A copy with parameter `name` set to `value` (replacing any existing one).
    pub fn with_param(&self, name: &str, value: Option<&str>) -> SipUri {
        let mut out = String::with_capacity(self.text.len() + name.len() + 8);
        out.push_str(&self.text[..self.port_end()]);
        for (n, v) in self.params() {
            if n.eq_ignore_ascii_case(name) {
                continue;
            }
            write_param(&mut out, n, v);
        }
        write_param(&mut out, name, value);
        if let Some(h) = self.headers_str() {
            out.push('?');
            out.push_str(h);
        }
        // The parts come from a valid URI and a caller-chosen parameter; if the caller's
        // parameter is not valid URI text, keep the original rather than panic.
        SipUri::parse(&out).unwrap_or_else(|_| self.clone())
    }
}

/// Scans the host at the start of `hp`: a bracketed IPv6 reference, or host-name /
/// IPv4 characters. Returns the host and the index just past it, which must be the end
/// or one of `:`, `;`, `?`.
fn scan_host(hp: &str) -> Result<(&str, usize), UriError> {
    let b = hp.as_bytes();
    let end = if b.first() == Some(&b'[') {
        let Some(close) = find_byte(hp, b']') else {
            return err("unterminated IPv6 reference in host");
        };
        let inner = &b[1..close];
        if inner.is_empty()
            || !inner
                .iter()
                .all(|&c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
        {
            return err(format!("invalid IPv6 reference '{}'", &hp[..=close]));
        }
        close + 1
    } else {
        b.iter().take_while(|&&c| is_host_char(c)).count()
    };
    if end == 0 {
        return err("URI has no host");
    }
    match b.get(end) {
        None | Some(b':' | b';' | b'?') => Ok((&hp[..end], end)),
        Some(&c) if end > 0 && b[0] == b'[' => err(format!(
            "unexpected '{}' after IPv6 reference",
            char::from(c).escape_default()
        )),
        Some(&c) => err(format!(
            "invalid character '{}' in host",
            char::from(c).escape_default()
        )),
    }
}

/// Length of the run of URI parameter characters (escapes included) at the start.
fn scan_param_chars(b: &[u8]) -> usize {
    b.iter()
        .take_while(|&&c| is_param_char(c) || c == b'%')
        .count()
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Most parameters one URI may carry. Real URIs carry a handful; the bound keeps the
/// RFC 3261 comparison (which matches parameters pairwise) cheap whatever arrives.
pub const MAX_URI_PARAMS: usize = 64;

/// Parameters that must be present in both URIs (with equal values) if present in
/// either, per RFC 3261 §19.1.4.
const MUST_MATCH: [&str; 5] = ["user", "ttl", "method", "maddr", "transport"];

fn decoded_eq_ci(a: &str, b: &str) -> bool {
    let (a, b) = (percent_decode(a), percent_decode(b));
    a.eq_ignore_ascii_case(&b)
}

impl PartialEq for SipUri {
    /// Equality by RFC 3261 §19.1.4: scheme, userinfo (case-sensitive, escapes decoded),
    /// host (case-insensitive), port (an absent port is not equal to an explicit
    /// default), the `user`/`ttl`/`method`/`maddr`/`transport` parameters, every
    /// parameter present in both, and every header.
    fn eq(&self, other: &SipUri) -> bool {
        if self.secure != other.secure {
            return false;
        }
        if self.user_decoded() != other.user_decoded()
            || self.password().map(percent_decode) != other.password().map(percent_decode)
        {
            return false;
        }
        if !self.host().eq_ignore_ascii_case(other.host()) || self.port != other.port {
            return false;
        }
        for name in MUST_MATCH {
            match (self.param(name), other.param(name)) {
                (None, None) => {}
                (Some(a), Some(b)) => {
                    if !decoded_eq_ci(a.unwrap_or(""), b.unwrap_or("")) {
                        return false;
                    }
                }
                _ => return false,
            }
        }
        // Parameters present in both must match. A name that repeats is matched
        // occurrence by occurrence, which keeps the comparison reflexive.
        for (i, (n, v)) in self.params().enumerate() {
            let k = self
                .params()
                .take(i)
                .filter(|(pn, _)| decoded_eq_ci(pn, n))
                .count();
            if let Some((_, ov)) = other.params().filter(|(on, _)| decoded_eq_ci(on, n)).nth(k) {
                if !decoded_eq_ci(v.unwrap_or(""), ov.unwrap_or("")) {
                    return false;
                }
            }
        }
        let mine: Vec<_> = self.headers().collect();
        let theirs: Vec<_> = other.headers().collect();
        if mine.len() != theirs.len() {
            return false;
        }
        mine.iter().all(|(n, v)| {
            theirs
                .iter()
                .any(|(on, ov)| decoded_eq_ci(n, on) && percent_decode(v) == percent_decode(ov))
        })
    }
}

/// A `tel:` URI (RFC 3966): the number and its parameters.
#[derive(Debug, Clone)]
pub struct TelUri {
    text: ByteString,
    number: Span,
    params: UriParams,
}

impl TelUri {
    fn parse_after_scheme(text: &ByteString, start: usize) -> Result<TelUri, UriError> {
        let base: &str = text;
        let rest = &base[start..];
        let end = find_byte(rest, b';').unwrap_or(rest.len());
        let number = &rest[..end];
        if number.is_empty() {
            return err("tel: URI has no number");
        }
        let digits = number.strip_prefix('+').unwrap_or(number);
        if digits.is_empty()
            || !digits.bytes().all(|b| {
                b.is_ascii_hexdigit() || matches!(b, b'-' | b'.' | b'(' | b')' | b'*' | b'#')
            })
        {
            return err(format!("invalid telephone number '{number}'"));
        }
        let mut params = UriParams::default();
        let mut after = &rest[end..];
        while let Some(p) = after.strip_prefix(';') {
            if params.len() >= MAX_URI_PARAMS {
                return err("too many URI parameters");
            }
            let e = find_byte(p, b';').unwrap_or(p.len());
            let item = &p[..e];
            let (n, v) = match find_byte(item, b'=') {
                Some(eq) => (&item[..eq], Some(&item[eq + 1..])),
                None => (item, None),
            };
            if n.is_empty() || !is_escaped_run(n, is_param_char) {
                return err("invalid tel: URI parameter");
            }
            if let Some(v) = v {
                if !is_escaped_run(v, |b| is_param_char(b) || b == b'?' || b == b'=') {
                    return err(format!("invalid value for tel: parameter '{n}'"));
                }
            }
            params.push(Param::new(Span::of(base, n), v.map(|v| Span::of(base, v))));
            after = &p[e..];
        }
        Ok(TelUri {
            text: text.clone(),
            number: Span::of(base, number),
            params,
        })
    }

    /// The URI as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The number as written, visual separators included.
    pub fn number(&self) -> &str {
        self.number.get(&self.text)
    }

    /// True for a global number (`+` prefix).
    pub fn is_global(&self) -> bool {
        self.number().starts_with('+')
    }

    /// The number without visual separators (`-`, `.`, `(`, `)`).
    pub fn digits(&self) -> String {
        self.number()
            .chars()
            .filter(|c| !matches!(c, '-' | '.' | '(' | ')'))
            .collect()
    }

    /// A parameter by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params.get(&self.text, name)
    }
}

impl PartialEq for TelUri {
    fn eq(&self, other: &TelUri) -> bool {
        if !self.digits().eq_ignore_ascii_case(&other.digits())
            || self.params.len() != other.params.len()
        {
            return false;
        }
        self.params
            .iter(&self.text)
            .all(|(n, v)| match other.param(n) {
                Some(ov) => decoded_eq_ci(v.unwrap_or(""), ov.unwrap_or("")),
                None => false,
            })
    }
}

/// A URI of a scheme this crate does not interpret.
#[derive(Debug, Clone)]
pub struct AbsoluteUri {
    text: ByteString,
    scheme_len: u32,
}

impl AbsoluteUri {
    /// The URI as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// The scheme.
    pub fn scheme(&self) -> &str {
        &self.text[..self.scheme_len as usize]
    }
    /// Everything after `scheme:`.
    pub fn opaque(&self) -> &str {
        &self.text[self.scheme_len as usize + 1..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &str) -> SipUri {
        SipUri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_parts() {
        let u = sip("sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?Subject=hi&X=y");
        assert!(u.is_secure());
        assert_eq!(u.user(), Some("alice"));
        assert_eq!(u.password(), Some("secret"));
        assert_eq!(u.host(), "[2001:db8::1]");
        assert_eq!(u.port(), Some(5061));
        assert_eq!(u.transport(), Some("tcp"));
        assert!(u.lr());
        assert_eq!(
            u.headers().collect::<Vec<_>>(),
            vec![("Subject", "hi"), ("X", "y")]
        );
        assert_eq!(u.without_params(), "sips:alice:secret@[2001:db8::1]:5061");
    }

    #[test]
    fn unusual_user_characters() {
        let u = sip("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com");
        assert_eq!(
            u.user(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert_eq!(
            u.password(),
            Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        );
        assert_eq!(u.host(), "example.com");
    }

    #[test]
    fn rejects_bad_uris() {
        for bad in [
            "sip:",
            "sip:user@",
            "sip:host:99999",
            "sip:ho st",
            "sip:[::1",
            "sip:host;",
            "sip:host;a=",
            "sip:host?x",
            "sip:us<er@host",
            "sip:host:12a",
            ":nothing",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn rfc3261_equal_examples() {
        // RFC 3261 §19.1.4: these pairs are equivalent.
        for (a, b) in [
            (
                "sip:%61lice@atlanta.com;transport=TCP",
                "sip:alice@AtLanTa.CoM;Transport=tcp",
            ),
            ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
            (
                "sip:carol@chicago.com;security=on",
                "sip:carol@chicago.com;newparam=5",
            ),
            (
                "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
            ),
            (
                "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
            ),
        ] {
            assert_eq!(sip(a), sip(b), "{a} == {b}");
        }
    }

    #[test]
    fn rfc3261_unequal_examples() {
        for (a, b) in [
            (
                "SIP:ALICE@AtLanTa.CoM;Transport=udp",
                "sip:alice@AtLanTa.CoM;Transport=UDP",
            ),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),
            (
                "sip:bob@biloxi.com",
                "sip:bob@biloxi.com:6000;transport=tcp",
            ),
            (
                "sip:carol@chicago.com",
                "sip:carol@chicago.com?Subject=next%20meeting",
            ),
            ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
            (
                "sip:carol@chicago.com;security=on",
                "sip:carol@chicago.com;security=off",
            ),
            ("sip:alice@atlanta.com", "sips:alice@atlanta.com"),
        ] {
            assert_ne!(sip(a), sip(b), "{a} != {b}");
        }
    }

    #[test]
    fn escapes_decode_once() {
        let u = sip("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
        assert_eq!(u.user_decoded().as_deref(), Some(&b"caller"[..]));
        assert_eq!(u.param("n%61me"), Some(Some("v%61lue%25%34%31")));
        assert_eq!(
            &*percent_decode(u.param("n%61me").flatten().unwrap()),
            b"value%41"
        );
        assert_eq!(sip("sip:%75se%72@example.com"), sip("sip:user@example.com"));
        let n = sip("sip:null-%00-null@example.com");
        assert_eq!(n.user_decoded().unwrap().len(), 11);
    }

    #[test]
    fn tel_and_other_schemes() {
        let Uri::Tel(t) = Uri::parse("tel:+1-201-555-0123;ext=42").unwrap() else {
            panic!("tel")
        };
        assert!(t.is_global());
        assert_eq!(t.digits(), "+12015550123");
        assert_eq!(t.param("ext"), Some(Some("42")));
        assert_eq!(
            Uri::parse("tel:+1.201.555.0123;EXT=42").unwrap(),
            Uri::Tel(t)
        );
        let o = Uri::parse("soap.beep://192.0.2.103:3002").unwrap();
        assert!(matches!(o, Uri::Other(_)));
        assert_eq!(o.scheme(), "soap.beep");
    }

    #[test]
    fn parameter_count_is_bounded() {
        let ok = format!("sip:a@b{}", ";p".repeat(MAX_URI_PARAMS));
        assert!(Uri::parse(&ok).is_ok());
        let too_many = format!("sip:a@b{}", ";p".repeat(MAX_URI_PARAMS + 1));
        assert_eq!(
            Uri::parse(&too_many).unwrap_err().to_string(),
            "too many URI parameters"
        );
        let tel = format!("tel:+1{}", ";p".repeat(MAX_URI_PARAMS + 1));
        assert!(Uri::parse(&tel).is_err());
    }

    #[test]
    fn with_param_replaces() {
        let u = sip("sip:a@b:5060;transport=udp;lr");
        let v = u.with_param("transport", Some("tcp"));
        assert_eq!(v.as_str(), "sip:a@b:5060;lr;transport=tcp");
    }
}
