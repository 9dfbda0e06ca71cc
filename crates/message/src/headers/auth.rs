//! Authorization, Proxy-Authorization, WWW-Authenticate and Proxy-Authenticate
//! (RFC 3261 §20.7, §20.27, §20.28, §20.44; RFC 7616/8760 parameters).
//!
//! All four share one shape: `scheme param=value, param="quoted", ...`. The value keeps
//! its text; parameters are spans, unquoted on request.

use std::borrow::Cow;
use std::fmt;

use bytestring::ByteString;

use super::FromHeader;
use crate::params::{first_char, Param, Params, Span};
use crate::text::{is_token_char, quoted_string_end, skip_lws, split_token, unquote};

/// A scheme followed by comma-separated `name=value` parameters.
#[derive(Debug, Clone)]
pub struct AuthValue {
    text: ByteString,
    scheme: Span,
    params: Params,
}

/// Credentials sent by a client (Authorization, Proxy-Authorization).
pub type Credentials = AuthValue;
/// A challenge sent by a server (WWW-Authenticate, Proxy-Authenticate).
pub type Challenge = AuthValue;

impl AuthValue {
    /// The value as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// The scheme as written (`Digest`).
    pub fn scheme(&self) -> &str {
        self.scheme.get(&self.text)
    }
    /// Whether the scheme is Digest (case-insensitive).
    pub fn is_digest(&self) -> bool {
        self.scheme().eq_ignore_ascii_case("digest")
    }
    /// A parameter as written (quotes included) by case-insensitive name.
    pub fn param_raw(&self, name: &str) -> Option<&str> {
        self.params.get(&self.text, name).flatten()
    }
    /// A parameter with quotes and escapes removed.
    pub fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.param_raw(name).map(unquote)
    }
    /// All parameters in order, as written.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params
            .iter(&self.text)
            .map(|(n, v)| (n, v.unwrap_or("")))
    }
    /// `username`
    pub fn username(&self) -> Option<Cow<'_, str>> {
        self.param("username")
    }
    /// `realm`
    pub fn realm(&self) -> Option<Cow<'_, str>> {
        self.param("realm")
    }
    /// `nonce`
    pub fn nonce(&self) -> Option<Cow<'_, str>> {
        self.param("nonce")
    }
    /// `uri` (the digest-uri)
    pub fn uri(&self) -> Option<Cow<'_, str>> {
        self.param("uri")
    }
    /// `response`
    pub fn response(&self) -> Option<Cow<'_, str>> {
        self.param("response")
    }
    /// `algorithm` (absent means MD5)
    pub fn algorithm(&self) -> Option<Cow<'_, str>> {
        self.param("algorithm")
    }
    /// `cnonce`
    pub fn cnonce(&self) -> Option<Cow<'_, str>> {
        self.param("cnonce")
    }
    /// `opaque`
    pub fn opaque(&self) -> Option<Cow<'_, str>> {
        self.param("opaque")
    }
    /// `qop` (a single value in credentials, a comma list in a challenge)
    pub fn qop(&self) -> Option<Cow<'_, str>> {
        self.param("qop")
    }
    /// `nc`, the nonce count, as the 8 hex digits decode.
    pub fn nc(&self) -> Option<u32> {
        let v = self.param_raw("nc")?;
        if v.len() != 8 {
            return None;
        }
        u32::from_str_radix(v, 16).ok()
    }
    /// `stale=true` in a challenge.
    pub fn stale(&self) -> bool {
        self.param("stale")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// Builds a value from a scheme and parameters; each value is written as given
    /// (the caller quotes what must be quoted, e.g. with [`crate::text::quote`]).
    pub fn build(scheme: &str, params: &[(&str, &str)]) -> Result<AuthValue, String> {
        let mut s = String::from(scheme);
        for (i, (n, v)) in params.iter().enumerate() {
            s.push_str(if i == 0 { " " } else { ", " });
            s.push_str(n);
            s.push('=');
            s.push_str(v);
        }
        AuthValue::from_header(&ByteString::from(s))
    }
}

impl FromHeader for AuthValue {
    fn from_header(text: &ByteString) -> Result<Self, String> {
        let base: &str = text;
        let s = skip_lws(base);
        let (scheme, rest) = split_token(s);
        if scheme.is_empty() {
            return Err("missing authentication scheme".into());
        }
        let mut s = skip_lws(rest);
        let mut params = Params::with_capacity(12);
        let mut first = true;
        while !s.is_empty() {
            if !first {
                s = skip_lws(s.strip_prefix(',').ok_or_else(|| {
                    format!("expected ',' between parameters, found '{}'", first_char(s))
                })?);
            }
            first = false;
            let (name, rest) = split_token(s);
            if name.is_empty() {
                return Err("empty authentication parameter".into());
            }
            s = skip_lws(rest);
            s = skip_lws(
                s.strip_prefix('=')
                    .ok_or_else(|| format!("parameter '{name}' has no value"))?,
            );
            let vlen = if s.starts_with('"') {
                quoted_string_end(s.as_bytes(), 0)
                    .ok_or_else(|| format!("unterminated quoted value for '{name}'"))?
            } else {
                s.bytes()
                    .take_while(|&b| is_token_char(b) || b == b'/' || b == b':' || b == b'=')
                    .count()
            };
            if vlen == 0 {
                return Err(format!("parameter '{name}' has no value"));
            }
            params.push(Param::new(
                Span::of(base, name),
                Some(Span::of(base, &s[..vlen])),
            ));
            s = skip_lws(&s[vlen..]);
        }
        Ok(AuthValue {
            text: text.clone(),
            scheme: Span::of(base, scheme),
            params,
        })
    }
}

impl fmt::Display for AuthValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_credentials() {
        let v = AuthValue::from_header(&ByteString::from(
            r#"Digest username="alice", realm="atlanta.com",
 nonce="84a4cc6f3082121f32b42a2187831a9e", uri="sip:atlanta.com", qop=auth, nc=00000001,
 cnonce="0a4f113b", response="7587245234b3434cc3412213e5f113a5", algorithm=SHA-256, opaque="""#
                .replace("\n ", " "),
        ))
        .unwrap();
        assert!(v.is_digest());
        assert_eq!(v.username().as_deref(), Some("alice"));
        assert_eq!(v.realm().as_deref(), Some("atlanta.com"));
        assert_eq!(v.qop().as_deref(), Some("auth"));
        assert_eq!(v.nc(), Some(1));
        assert_eq!(v.algorithm().as_deref(), Some("SHA-256"));
        assert_eq!(v.opaque().as_deref(), Some(""));
    }

    #[test]
    fn other_schemes_and_errors() {
        let v = AuthValue::from_header(&ByteString::from("NoOneKnowsThisScheme opaque-data=here"))
            .unwrap();
        assert!(!v.is_digest());
        assert_eq!(v.param("opaque-data").as_deref(), Some("here"));
        for bad in [
            "",
            "Digest realm",
            "Digest realm=\"x",
            "Digest a=b c=d",
            "Digest ,",
        ] {
            assert!(
                AuthValue::from_header(&ByteString::from(bad)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn challenge_build() {
        let c = AuthValue::build(
            "Digest",
            &[
                ("realm", "\"asterisk\""),
                ("nonce", "\"abc\""),
                ("qop", "\"auth\""),
                ("stale", "true"),
            ],
        )
        .unwrap();
        assert_eq!(
            c.as_str(),
            r#"Digest realm="asterisk", nonce="abc", qop="auth", stale=true"#
        );
        assert!(c.stale());
    }
}
