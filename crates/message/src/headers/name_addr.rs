//! name-addr / addr-spec values with header parameters: From, To, Contact, Route,
//! Record-Route, Path, Reply-To, P-Asserted-Identity and friends (RFC 3261 §20.10).

use std::borrow::Cow;
use std::fmt;

use bytestring::ByteString;

use super::FromHeader;
use crate::params::{first_char, parse_header_params, write_param, Params, Span};
use crate::text::{find_byte, is_token_char, is_wsp, quote, quoted_string_end, skip_lws, unquote};
use crate::uri::Uri;

/// An address with an optional display name and header parameters.
#[derive(Debug, Clone)]
pub struct NameAddr {
    text: ByteString,
    display: Option<Span>,
    uri: Uri,
    params: Params,
}

impl NameAddr {
    /// `"display" <uri>` (or `<uri>`), no parameters.
    pub fn new(display: Option<&str>, uri: &Uri) -> NameAddr {
        let text = match display {
            Some(d) if !d.is_empty() => format!("{} <{}>", quote(d), uri),
            _ => format!("<{uri}>"),
        };
        NameAddr::from_header(&ByteString::from(text)).unwrap_or_else(|_| NameAddr {
            text: ByteString::from(format!("<{uri}>")),
            display: None,
            uri: uri.clone(),
            params: Params::default(),
        })
    }

    /// The value as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// The display name with quotes and escapes removed.
    pub fn display_name(&self) -> Option<Cow<'_, str>> {
        self.display.map(|d| unquote(d.get(&self.text)))
    }
    /// The display name exactly as written.
    pub fn display_name_raw(&self) -> Option<&str> {
        self.display.map(|d| d.get(&self.text))
    }
    /// The address.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }
    /// A header parameter (not a URI parameter) by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params.get(&self.text, name)
    }
    /// All header parameters in order.
    pub fn params(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.params.iter(&self.text)
    }
    /// The `tag` parameter (From, To).
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }
    /// The `expires` parameter of a Contact: `Ok(None)` when absent, an error when it
    /// is not a number from 0 to 2^32-1.
    pub fn expires(&self) -> Result<Option<u32>, String> {
        match self.param("expires") {
            None => Ok(None),
            Some(None) => Err("expires parameter without a value".into()),
            Some(Some(v)) => super::parse_u32(v)
                .map(Some)
                .map_err(|e| format!("expires parameter: {e}")),
        }
    }
    /// The `q` parameter of a Contact in thousandths (0..=1000).
    pub fn q(&self) -> Result<Option<u16>, String> {
        match self.param("q") {
            None => Ok(None),
            Some(v) => parse_qvalue(v.unwrap_or("")).map(Some),
        }
    }

    /// A copy with header parameter `name` set (replacing an existing one).
    pub fn with_param(&self, name: &str, value: Option<&str>) -> NameAddr {
        let mut s = match self.display_name_raw() {
            Some(d) => format!("{d} <{}>", self.uri),
            None => format!("<{}>", self.uri),
        };
        for (n, v) in self.params() {
            if !n.eq_ignore_ascii_case(name) {
                write_param(&mut s, n, v);
            }
        }
        write_param(&mut s, name, value);
        NameAddr::from_header(&ByteString::from(s)).unwrap_or_else(|_| self.clone())
    }
}

/// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
fn parse_qvalue(v: &str) -> Result<u16, String> {
    let bad = || format!("q value '{v}' is not between 0 and 1 with at most three decimals");
    let (int, frac) = match v.split_once('.') {
        Some((i, f)) => (i, f),
        None => (v, ""),
    };
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Ok(thousandths),
        "1" if thousandths == 0 => Ok(1000),
        _ => Err(bad()),
    }
}

impl FromHeader for NameAddr {
    fn from_header(text: &ByteString) -> Result<Self, String> {
        let base: &str = text;
        let s = skip_lws(base);
        if s.is_empty() {
            return Err("empty address".into());
        }
        let mut display = None;
        let (uri_str, rest) = if s.starts_with('"') {
            let end =
                quoted_string_end(s.as_bytes(), 0).ok_or("unterminated quoted display name")?;
            display = Some(Span::of(base, &s[..end]));
            let after = skip_lws(&s[end..]);
            if !after.starts_with('<') {
                return Err("a quoted display name must be followed by <URI>".into());
            }
            bracketed(after)?
        } else if let Some(lt) = find_byte(s, b'<') {
            let d = s[..lt].trim_end_matches(is_wsp_char);
            if !d.is_empty() {
                if let Some(b) = d.bytes().find(|&b| !is_token_char(b) && !is_wsp(b)) {
                    return Err(format!(
                        "display name contains '{}' and must be quoted",
                        char::from(b).escape_default()
                    ));
                }
                display = Some(Span::of(base, d));
            }
            bracketed(&s[lt..])?
        } else {
            // addr-spec: the URI ends at the first ';' or whitespace; what follows are
            // header parameters (RFC 3261 §20.10).
            let end = s
                .bytes()
                .position(|b| b == b';' || is_wsp(b) || b == b'\r' || b == b'\n')
                .unwrap_or(s.len());
            let u = &s[..end];
            if u.contains('?') {
                return Err("a URI with headers must be enclosed in <>".into());
            }
            (u, &s[end..])
        };
        let uri = Uri::parse_shared(&text.slice_ref(uri_str)).map_err(|e| e.to_string())?;
        let params = parse_header_params(base, rest)?;
        Ok(NameAddr {
            text: text.clone(),
            display,
            uri,
            params,
        })
    }
}

fn is_wsp_char(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits `<uri>rest` into the URI inside the brackets and the rest.
fn bracketed(s: &str) -> Result<(&str, &str), String> {
    let inner = &s[1..];
    let close = find_byte(inner, b'>').ok_or("missing '>' after the URI")?;
    let uri = &inner[..close];
    if uri.is_empty() {
        return Err("empty URI inside <>".into());
    }
    if uri.starts_with(is_wsp_char) || uri.ends_with(is_wsp_char) {
        return Err("whitespace inside <> around the URI".into());
    }
    let rest = &inner[close + 1..];
    let after = skip_lws(rest);
    if !after.is_empty() && !after.starts_with(';') {
        return Err(format!("unexpected '{}' after '>'", first_char(after)));
    }
    Ok((uri, rest))
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One Contact value: an address, or `*` (only legal alone, in a REGISTER that removes
/// every binding, RFC 3261 §10.2.2).
// `*` is rare; boxing the common variant would add an allocation per binding.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Contact {
    /// `Contact: *`
    Wildcard,
    /// A binding address with its parameters (expires, q, +sip.instance, reg-id, ...).
    Addr(NameAddr),
}

impl Contact {
    /// The address, unless this is `*`.
    pub fn addr(&self) -> Option<&NameAddr> {
        match self {
            Contact::Wildcard => None,
            Contact::Addr(a) => Some(a),
        }
    }
}

impl FromHeader for Contact {
    fn from_header(text: &ByteString) -> Result<Self, String> {
        if text.trim() == "*" {
            return Ok(Contact::Wildcard);
        }
        NameAddr::from_header(text).map(Contact::Addr)
    }
}

impl fmt::Display for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Contact::Wildcard => f.write_str("*"),
            Contact::Addr(a) => a.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn na(s: &str) -> Result<NameAddr, String> {
        NameAddr::from_header(&ByteString::from(s))
    }

    #[test]
    fn forms() {
        let a =
            na(r#""J Rosenberg \\\""       <sip:jdrosen@example.com>  ;  tag = 98asjd8"#).unwrap();
        assert_eq!(a.display_name().as_deref(), Some(r#"J Rosenberg \""#));
        assert_eq!(a.tag(), Some("98asjd8"));
        assert_eq!(a.uri().as_str(), "sip:jdrosen@example.com");

        let b = na("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").unwrap();
        assert_eq!(b.uri().as_str(), "sip:vivekg@chair-dnrc.example.com");
        assert_eq!(b.tag(), Some("1918181833n"));

        let c = na("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(c.display_name().as_deref(), Some("caller"));

        let d = na("sip:+19725552222@gw1.example.net;unknownparam").unwrap();
        assert_eq!(d.uri().as_str(), "sip:+19725552222@gw1.example.net");
        assert_eq!(d.param("unknownparam"), Some(None));
    }

    #[test]
    fn malformed() {
        assert!(na(r#""Watson, Thomas" < sip:t.watson@example.org >"#).is_err());
        assert!(na("Bell, Alexander <sip:a.g.bell@example.com>;tag=43").is_err());
        assert!(na("<sip:a@b>;;;;").is_err());
        assert!(na("<sip:a@b").is_err());
        assert!(na("sip:a@b?x=y").is_err());
        assert!(na("<sip:a@b> junk").is_err());
    }

    #[test]
    fn contact_params() {
        let c = na("<sip:a@b>;expires=3600;q=0.7").unwrap();
        assert_eq!(c.expires(), Ok(Some(3600)));
        assert_eq!(c.q(), Ok(Some(700)));
        assert!(na("<sip:a@b>;expires=280297596632815")
            .unwrap()
            .expires()
            .is_err());
        assert_eq!(parse_qvalue("1.000"), Ok(1000));
        assert!(parse_qvalue("1.5").is_err());
        assert!(parse_qvalue("0.1234").is_err());
        let w = Contact::from_header(&ByteString::from(" * ")).unwrap();
        assert!(w.addr().is_none());
    }

    #[test]
    fn build() {
        let u = Uri::parse("sip:alice@example.com").unwrap();
        let a = NameAddr::new(Some("Alice \"A\""), &u).with_param("tag", Some("x1"));
        assert_eq!(
            a.as_str(),
            r#""Alice \"A\"" <sip:alice@example.com>;tag=x1"#
        );
        assert_eq!(a.display_name().as_deref(), Some("Alice \"A\""));
    }
}
