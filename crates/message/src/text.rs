//! Character classes and small scanning helpers shared by every grammar in the crate.
//!
//! The classes are the ones of RFC 3261 §25. They live in one lookup table so that
//! every "is this byte allowed here" question costs a single load, which matters in
//! the per-byte loops of the parser.

use std::borrow::Cow;

const TOKEN: u16 = 1;
const WORD: u16 = 1 << 1;
const UNRESERVED: u16 = 1 << 2;
const USER_UNRESERVED: u16 = 1 << 3;
const PASSWORD_EXTRA: u16 = 1 << 4;
const PARAM_UNRESERVED: u16 = 1 << 5;
const HNV_UNRESERVED: u16 = 1 << 6;
const HOST: u16 = 1 << 7;
const SCHEME: u16 = 1 << 8;

const fn build_table() -> [u16; 256] {
    let mut t = [0u16; 256];
    let mut c = 0usize;
    while c < 256 {
        let b = c as u8;
        let alnum = b.is_ascii_alphanumeric();
        let mut v = 0u16;
        if alnum {
            v |= TOKEN | WORD | UNRESERVED | HOST | SCHEME;
        }
        // token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
        if matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        ) {
            v |= TOKEN | WORD;
        }
        // word adds ( ) < > : \ DQUOTE / [ ] ? { }
        if matches!(
            b,
            b'(' | b')'
                | b'<'
                | b'>'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'{'
                | b'}'
        ) {
            v |= WORD;
        }
        // unreserved = alphanum / mark
        if matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        ) {
            v |= UNRESERVED;
        }
        if matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/') {
            v |= USER_UNRESERVED;
        }
        if matches!(b, b'&' | b'=' | b'+' | b'$' | b',') {
            v |= PASSWORD_EXTRA;
        }
        if matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$') {
            v |= PARAM_UNRESERVED;
        }
        if matches!(b, b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$') {
            v |= HNV_UNRESERVED;
        }
        if matches!(b, b'-' | b'.') {
            v |= HOST;
        }
        if matches!(b, b'+' | b'-' | b'.') {
            v |= SCHEME;
        }
        t[c] = v;
        c += 1;
    }
    t
}

static TABLE: [u16; 256] = build_table();

#[inline]
fn class(b: u8, mask: u16) -> bool {
    TABLE[b as usize] & mask != 0
}

/// `token` characters (RFC 3261 §25).
#[inline]
pub fn is_token_char(b: u8) -> bool {
    class(b, TOKEN)
}
/// `word` characters, used by Call-ID.
#[inline]
pub fn is_word_char(b: u8) -> bool {
    class(b, WORD)
}
/// Characters allowed unescaped in the user part of a SIP URI.
#[inline]
pub fn is_user_char(b: u8) -> bool {
    class(b, UNRESERVED | USER_UNRESERVED)
}
/// Characters allowed unescaped in the password part of a SIP URI.
#[inline]
pub fn is_password_char(b: u8) -> bool {
    class(b, UNRESERVED | PASSWORD_EXTRA)
}
/// Characters allowed unescaped in a URI parameter name or value.
#[inline]
pub fn is_param_char(b: u8) -> bool {
    class(b, UNRESERVED | PARAM_UNRESERVED)
}
/// Characters allowed unescaped in a URI header name or value.
#[inline]
pub fn is_hnv_char(b: u8) -> bool {
    class(b, UNRESERVED | HNV_UNRESERVED)
}
/// Characters of a host name or IPv4 address.
#[inline]
pub fn is_host_char(b: u8) -> bool {
    class(b, HOST)
}
/// Characters after the first letter of a URI scheme.
#[inline]
pub fn is_scheme_char(b: u8) -> bool {
    class(b, SCHEME)
}

/// Splits `s` into its leading run of token characters (possibly empty) and the rest.
pub fn split_token(s: &str) -> (&str, &str) {
    let n = s.bytes().take_while(|&b| is_token_char(b)).count();
    s.split_at(n)
}

/// True when every byte is a token character and there is at least one.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// Whitespace inside a header value once folding has been undone.
#[inline]
pub fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trims spaces, tabs and line breaks (folded LWS) from both ends.
pub fn trim_lws(s: &str) -> &str {
    let b = s.as_bytes();
    let start = b.iter().position(|&c| !is_lws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|&c| !is_lws(c)).map_or(start, |i| i + 1);
    // Both ends are next to ASCII bytes, so they are character boundaries.
    s.get(start..end).unwrap_or("")
}

/// Space, tab, CR or LF: the bytes of linear whitespace (with folding).
#[inline]
pub fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Inputs up to this length are searched with a plain loop: a SIMD search only pays
/// for its set-up on longer ones, and most header pieces are short.
const SHORT: usize = 32;

/// Byte index of the first `needle` in `b`.
#[inline]
pub fn find_byte_in(b: &[u8], needle: u8) -> Option<usize> {
    if b.len() <= SHORT {
        b.iter().position(|&c| c == needle)
    } else {
        memchr::memchr(needle, b)
    }
}

/// Byte index of the first of two bytes in `b`.
#[inline]
pub fn find_byte2_in(b: &[u8], n1: u8, n2: u8) -> Option<usize> {
    if b.len() <= SHORT {
        b.iter().position(|&c| c == n1 || c == n2)
    } else {
        memchr::memchr2(n1, n2, b)
    }
}

/// Byte index of the first `needle` (an ASCII byte) in `s`.
#[inline]
pub fn find_byte(s: &str, needle: u8) -> Option<usize> {
    find_byte_in(s.as_bytes(), needle)
}

/// Replaces each run of line-folding whitespace (`CRLF 1*WSP`, or bare LF) by one space,
/// as RFC 3261 §7.3.1 allows a receiver to do. Returns the input when nothing is folded.
pub fn unfold(s: &str) -> Cow<'_, str> {
    if find_byte2_in(s.as_bytes(), b'\r', b'\n').is_none() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut in_fold = false;
    for c in s.chars() {
        if c == '\r' || c == '\n' {
            in_fold = true;
            continue;
        }
        if in_fold {
            if c == ' ' || c == '\t' {
                continue;
            }
            // A fold is only legal before whitespace; keep one space where the line broke.
            if !out.ends_with(' ') && !out.ends_with('\t') {
                out.push(' ');
            }
            in_fold = false;
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// Splits a comma-separated header value at the commas that are outside quoted strings
/// and angle brackets. Elements are trimmed of LWS; empty elements are kept so that the
/// caller can reject them (`Via: a,,b` is malformed).
pub fn split_list(s: &str) -> impl Iterator<Item = &str> {
    let bytes = s.as_bytes();
    let mut start = 0usize;
    // Without a comma there is one element: skip the quote-aware scan.
    let mut pos = if find_byte_in(bytes, b',').is_none() {
        bytes.len()
    } else {
        0
    };
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut in_quote = false;
        let mut in_angle = false;
        while pos < bytes.len() {
            let b = bytes[pos];
            if in_quote {
                if b == b'\\' {
                    pos += 2;
                    continue;
                }
                if b == b'"' {
                    in_quote = false;
                }
            } else if b == b'"' {
                in_quote = true;
            } else if b == b'<' {
                in_angle = true;
            } else if b == b'>' {
                in_angle = false;
            } else if b == b',' && !in_angle {
                let elem = &s[start..pos];
                pos += 1;
                start = pos;
                return Some(trim_lws(elem));
            }
            pos += 1;
        }
        done = true;
        let end = pos.min(bytes.len());
        Some(trim_lws(&s[start..end]))
    })
}

/// Finds the end of a quoted string that starts at `start` (which must be a `"`),
/// honouring backslash escapes. Returns the index just past the closing quote.
pub fn quoted_string_end(s: &[u8], start: usize) -> Option<usize> {
    debug_assert_eq!(s.get(start), Some(&b'"'));
    let mut i = start + 1;
    while i < s.len() {
        let at = i + find_byte2_in(s.get(i..)?, b'"', b'\\')?;
        if s[at] == b'"' {
            return Some(at + 1);
        }
        i = at + 2;
    }
    None
}

/// Removes the surrounding quotes of a quoted string and resolves its `\x` escapes.
/// A value that is not quoted is returned as it is.
pub fn unquote(s: &str) -> Cow<'_, str> {
    let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return Cow::Borrowed(s);
    };
    if find_byte(inner, b'\\').is_none() {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Quotes `s` as a quoted-string, escaping `"` and `\`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Decodes `%HH` escapes once. `%` not followed by two hex digits is kept literally
/// (the grammar forbids it, but a lookup must not fail on it).
pub fn percent_decode(s: &str) -> Cow<'_, [u8]> {
    if !s.contains('%') {
        return Cow::Borrowed(s.as_bytes());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let (Some(h), Some(l)) = (hex_val(b.get(i + 1)), hex_val(b.get(i + 2))) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(out)
}

fn hex_val(b: Option<&u8>) -> Option<u8> {
    match b? {
        c @ b'0'..=b'9' => Some(c - b'0'),
        c @ b'a'..=b'f' => Some(c - b'a' + 10),
        c @ b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Checks that every byte is either allowed by `allowed` or part of a well-formed
/// `%HH` escape.
pub fn is_escaped_run(s: &str, allowed: fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if hex_val(b.get(i + 1)).is_none() || hex_val(b.get(i + 2)).is_none() {
                return false;
            }
            i += 3;
        } else if allowed(b[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// Parses a decimal number of at most `max`, allowing leading zeros (`0068`).
/// Returns `None` when the text is not all digits or the value is above `max`.
pub fn parse_decimal(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        if v > max {
            return None;
        }
    }
    Some(v)
}

/// Skips leading spaces and tabs (and folds) and returns the rest.
pub fn skip_lws(s: &str) -> &str {
    let n = s.bytes().take_while(|&b| is_lws(b)).count();
    s.get(n..).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfold_joins_continuation_lines() {
        assert_eq!(unfold("a\r\n  b"), "a b");
        assert_eq!(unfold("a \r\n\tb"), "a b");
        assert_eq!(unfold("plain"), "plain");
    }

    #[test]
    fn split_list_respects_quotes_and_brackets() {
        let v: Vec<_> = split_list(r#""a,b" <sip:x;a=1,2>;p=1 , <sip:y>"#).collect();
        assert_eq!(v, vec![r#""a,b" <sip:x;a=1,2>;p=1"#, "<sip:y>"]);
        let v: Vec<_> = split_list("a,,b").collect();
        assert_eq!(v, vec!["a", "", "b"]);
    }

    #[test]
    fn percent_decode_decodes_once() {
        assert_eq!(&*percent_decode("value%25%34%31"), b"value%41");
        assert_eq!(&*percent_decode("null-%00-null"), b"null-\0-null");
        assert_eq!(&*percent_decode("100%"), b"100%");
    }

    #[test]
    fn decimal_limits() {
        assert_eq!(parse_decimal("0068", 255), Some(68));
        assert_eq!(parse_decimal("300", 255), None);
        assert_eq!(
            parse_decimal("36893488147419103232", u64::from(u32::MAX)),
            None
        );
        assert_eq!(parse_decimal("-1", 10), None);
    }

    #[test]
    fn unquote_resolves_escapes() {
        assert_eq!(unquote(r#""J Rosenberg \\\"""#), r#"J Rosenberg \""#);
        assert_eq!(quote(r#"a"b"#), r#""a\"b""#);
    }
}
