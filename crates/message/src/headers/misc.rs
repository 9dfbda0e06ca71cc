//! The smaller typed headers: CSeq, Call-ID, Max-Forwards, media types (Content-Type,
//! Accept), Event, Subscription-State, Retry-After, Reason and Date.

use std::fmt;

use bytestring::ByteString;

use super::{parse_u32, truncate, FromHeader};
use crate::limits::Limits;
use crate::method::Method;
use crate::params::{first_char, parse_header_params, Params, Span};
use crate::text::{is_word_char, skip_lws, split_token, unquote};

/// Max-Forwards: 0 ..= 255 (RFC 3261 §20.22); leading zeros allowed.
impl FromHeader for u8 {
    fn from_header(value: &ByteString) -> Result<Self, String> {
        let v = parse_u32(value.trim())?;
        u8::try_from(v).map_err(|_| format!("{v} is out of range (0 to 255)"))
    }
}

/// `CSeq: <number> <method>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number, 0 ..= 2^32-1.
    pub seq: u32,
    /// The method, which must equal the request's.
    pub method: Method,
}

impl CSeq {
    /// A CSeq value.
    pub fn new(seq: u32, method: Method) -> CSeq {
        CSeq { seq, method }
    }
}

impl FromHeader for CSeq {
    fn from_header(value: &ByteString) -> Result<Self, String> {
        let s = skip_lws(value);
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err("missing sequence number".into());
        }
        let seq = parse_u32(&s[..n]).map_err(|_| "number out of range".to_owned())?;
        let rest = &s[n..];
        let m = skip_lws(rest);
        if m.len() == rest.len() {
            return Err("expected whitespace between number and method".into());
        }
        let m = m.trim_end_matches([' ', '\t']);
        if m.is_empty() {
            return Err("missing method".into());
        }
        let method = Method::parse_shared(value, m)
            .ok_or_else(|| format!("invalid method '{}'", truncate(m)))?;
        Ok(CSeq { seq, method })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// `Call-ID: word [ "@" word ]` (RFC 3261 §20.8), compared byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallId(pub ByteString);

impl CallId {
    /// The Call-ID text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromHeader for CallId {
    fn from_header(value: &ByteString) -> Result<Self, String> {
        let s = value.trim_matches([' ', '\t']);
        if s.is_empty() {
            return Err("empty Call-ID".into());
        }
        let mut ats = 0;
        for b in s.bytes() {
            if b == b'@' {
                ats += 1;
            } else if !is_word_char(b) {
                return Err(format!(
                    "invalid character '{}' in Call-ID",
                    char::from(b).escape_default()
                ));
            }
        }
        if ats > 1 || s.starts_with('@') || s.ends_with('@') {
            return Err("Call-ID must be word or word@word".into());
        }
        Ok(CallId(value.slice_ref(s)))
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A media type with parameters: Content-Type, and each element of Accept (where
/// `*` wildcards are allowed).
#[derive(Debug, Clone)]
pub struct MediaType {
    text: ByteString,
    mtype: Span,
    subtype: Span,
    params: Params,
}

impl MediaType {
    /// The top-level type (`application`).
    pub fn mtype(&self) -> &str {
        self.mtype.get(&self.text)
    }
    /// The subtype (`sdp`).
    pub fn subtype(&self) -> &str {
        self.subtype.get(&self.text)
    }
    /// Whether this is `type/subtype`, case-insensitively.
    pub fn is(&self, mtype: &str, subtype: &str) -> bool {
        self.mtype().eq_ignore_ascii_case(mtype) && self.subtype().eq_ignore_ascii_case(subtype)
    }
    /// Whether this media range (which may use `*`) accepts `type/subtype`.
    pub fn accepts(&self, mtype: &str, subtype: &str) -> bool {
        (self.mtype() == "*" || self.mtype().eq_ignore_ascii_case(mtype))
            && (self.subtype() == "*" || self.subtype().eq_ignore_ascii_case(subtype))
    }
    /// A parameter, unquoted.
    pub fn param(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        self.params.get(&self.text, name).flatten().map(unquote)
    }
    /// The value as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromHeader for MediaType {
    fn from_header(value: &ByteString) -> Result<Self, String> {
        let base: &str = value;
        let s = skip_lws(base);
        let (mtype, rest) = split_token(s);
        if mtype.is_empty() {
            return Err("missing media type".into());
        }
        let s = skip_lws(rest)
            .strip_prefix('/')
            .ok_or("expected type/subtype")?;
        let s = skip_lws(s);
        let (subtype, rest) = split_token(s);
        if subtype.is_empty() {
            return Err("missing media subtype".into());
        }
        let params = parse_header_params(base, rest)?;
        Ok(MediaType {
            text: value.clone(),
            mtype: Span::of(base, mtype),
            subtype: Span::of(base, subtype),
            params,
        })
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A token followed by header parameters; the shape of Event, Subscription-State and
/// Reason.
#[derive(Debug, Clone)]
struct TokenWithParams {
    text: ByteString,
    token: Span,
    params: Params,
}

impl TokenWithParams {
    fn parse(value: &ByteString, what: &str) -> Result<Self, String> {
        let base: &str = value;
        let s = skip_lws(base);
        let (token, rest) = split_token(s);
        if token.is_empty() {
            return Err(if s.is_empty() {
                format!("missing {what}")
            } else {
                format!("invalid character '{}' in {what}", first_char(s))
            });
        }
        let params = parse_header_params(base, rest)?;
        Ok(TokenWithParams {
            text: value.clone(),
            token: Span::of(base, token),
            params,
        })
    }
    fn token(&self) -> &str {
        self.token.get(&self.text)
    }
    fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params.get(&self.text, name)
    }
}

macro_rules! token_with_params {
    ($(#[$doc:meta])* $name:ident, $what:literal, $token_fn:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(TokenWithParams);

        impl $name {
            #[doc = concat!("The ", $what, ".")]
            pub fn $token_fn(&self) -> &str {
                self.0.token()
            }
            /// A parameter by case-insensitive name: `Some(None)` for a flag.
            pub fn param(&self, name: &str) -> Option<Option<&str>> {
                self.0.param(name)
            }
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0.text
            }
        }

        impl FromHeader for $name {
            fn from_header(value: &ByteString) -> Result<Self, String> {
                TokenWithParams::parse(value, $what).map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0.text)
            }
        }
    };
}

token_with_params!(
    /// `Event: presence;id=7` (RFC 6665 §8.2.1).
    Event, "event package", package
);
token_with_params!(
    /// `Subscription-State: active;expires=600` (RFC 6665 §8.2.3).
    SubscriptionState, "subscription state", state
);
token_with_params!(
    /// One element of `Reason: SIP;cause=200;text="Call completed elsewhere"` (RFC 3326).
    Reason, "reason protocol", protocol
);

impl Event {
    /// The `id` parameter.
    pub fn id(&self) -> Option<&str> {
        self.param("id").flatten()
    }
}

impl SubscriptionState {
    /// The `expires` parameter.
    pub fn expires(&self) -> Option<u32> {
        self.param("expires")
            .flatten()
            .and_then(|v| parse_u32(v).ok())
    }
    /// The `reason` parameter.
    pub fn reason(&self) -> Option<&str> {
        self.param("reason").flatten()
    }
    /// The `retry-after` parameter.
    pub fn retry_after(&self) -> Option<u32> {
        self.param("retry-after")
            .flatten()
            .and_then(|v| parse_u32(v).ok())
    }
}

impl Reason {
    /// The `cause` parameter.
    pub fn cause(&self) -> Option<u32> {
        self.param("cause")
            .flatten()
            .and_then(|v| parse_u32(v).ok())
    }
    /// The `text` parameter, unquoted.
    pub fn text(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.param("text").flatten().map(unquote)
    }
}

/// `Retry-After: 120 (I'm in a meeting);duration=3600` (RFC 3261 §20.33).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryAfter {
    /// Seconds to wait.
    pub seconds: u32,
    /// The comment, without its parentheses.
    pub comment: Option<String>,
    /// The `duration` parameter.
    pub duration: Option<u32>,
}

impl FromHeader for RetryAfter {
    fn from_header(value: &ByteString) -> Result<Self, String> {
        RetryAfter::from_header_limited(value, &Limits::DEFAULT)
    }

    /// Comments nest; deeper than [`Limits::max_nesting`] is rejected.
    fn from_header_limited(value: &ByteString, limits: &Limits) -> Result<Self, String> {
        let base: &str = value;
        let s = skip_lws(base);
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        let seconds = parse_u32(&s[..n])?;
        let mut s = skip_lws(&s[n..]);
        let mut comment = None;
        if s.starts_with('(') {
            let mut depth = 0usize;
            let mut end = None;
            let b = s.as_bytes();
            let mut i = 0;
            while i < b.len() {
                match b[i] {
                    b'\\' => i += 1,
                    b'(' => {
                        depth += 1;
                        if depth > limits.max_nesting {
                            return Err("comment nested too deeply".into());
                        }
                    }
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            let end = end.ok_or("unterminated comment")?;
            comment = Some(s[1..end].to_owned());
            s = &s[end + 1..];
        }
        let params = parse_header_params(base, s)?;
        let duration = match params.get(base, "duration") {
            None => None,
            Some(v) => Some(parse_u32(v.unwrap_or(""))?),
        };
        Ok(RetryAfter {
            seconds,
            comment,
            duration,
        })
    }
}

/// `Date: Sat, 13 Nov 2010 23:29:00 GMT` (RFC 3261 §20.17: RFC 1123 form, GMT only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix_seconds: i64,
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl Date {
    /// Formats seconds since the epoch as an RFC 1123 GMT date.
    pub fn format(unix_seconds: i64) -> String {
        let days = unix_seconds.div_euclid(86_400);
        let secs = unix_seconds.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let wd = (days + 3).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
        format!(
            "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
            WEEKDAYS[wd],
            d,
            MONTHS[(m - 1) as usize],
            y,
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

impl FromHeader for Date {
    fn from_header(value: &ByteString) -> Result<Self, String> {
        let bad = || "not an RFC 1123 date like 'Sat, 13 Nov 2010 23:29:00 GMT'".to_owned();
        let s = value.trim();
        let (wd, rest) = s.split_once(',').ok_or_else(bad)?;
        if !WEEKDAYS.contains(&wd.trim()) {
            return Err(bad());
        }
        let parts: Vec<&str> = rest.split_ascii_whitespace().collect();
        let [day, mon, year, time, zone] = parts[..] else {
            return Err(bad());
        };
        if zone != "GMT" {
            return Err(format!("time zone must be GMT, not '{}'", truncate(zone)));
        }
        let day = parse_u32(day).map_err(|_| bad())?;
        let month = MONTHS.iter().position(|m| *m == mon).ok_or_else(bad)? as u32 + 1;
        let year = parse_u32(year).map_err(|_| bad())?;
        let t: Vec<&str> = time.split(':').collect();
        let [h, mi, se] = t[..] else {
            return Err(bad());
        };
        let (h, mi, se) = (
            parse_u32(h).map_err(|_| bad())?,
            parse_u32(mi).map_err(|_| bad())?,
            parse_u32(se).map_err(|_| bad())?,
        );
        if !(1..=31).contains(&day)
            || h > 23
            || mi > 59
            || se > 60
            || !(1900..=9999).contains(&year)
        {
            return Err(bad());
        }
        let days = days_from_civil(i64::from(year), month, day);
        Ok(Date {
            unix_seconds: days * 86_400 + i64::from(h * 3600 + mi * 60 + se),
        })
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bs(s: &str) -> ByteString {
        ByteString::from(s)
    }

    #[test]
    fn cseq() {
        let c = CSeq::from_header(&bs("0009 INVITE")).unwrap();
        assert_eq!(c, CSeq::new(9, Method::Invite));
        assert_eq!(
            CSeq::from_header(&bs("36893488147419103232 REGISTER")).unwrap_err(),
            "number out of range"
        );
        assert!(CSeq::from_header(&bs("1")).is_err());
        assert!(CSeq::from_header(&bs("1INVITE")).is_err());
        assert_eq!(
            CSeq::from_header(&bs("4294967295 ACK")).unwrap().seq,
            u32::MAX
        );
    }

    #[test]
    fn call_id() {
        assert!(CallId::from_header(&bs(r#"intmeth.word%ZK-!.*_+'@word`~)(><:\/"][?}{"#)).is_ok());
        assert!(CallId::from_header(&bs("a b")).is_err());
        assert!(CallId::from_header(&bs("")).is_err());
    }

    #[test]
    fn max_forwards() {
        assert_eq!(u8::from_header(&bs("0068")), Ok(68));
        assert!(u8::from_header(&bs("300")).is_err());
    }

    #[test]
    fn media_and_event() {
        let m = MediaType::from_header(&bs("multipart/mixed ; boundary=\"abc\"")).unwrap();
        assert!(m.is("Multipart", "MIXED"));
        assert_eq!(m.param("boundary").as_deref(), Some("abc"));
        let a = MediaType::from_header(&bs("application/*")).unwrap();
        assert!(a.accepts("application", "sdp"));
        let e = Event::from_header(&bs("presence;id=12")).unwrap();
        assert_eq!(e.package(), "presence");
        assert_eq!(e.id(), Some("12"));
        let s = SubscriptionState::from_header(&bs("terminated;reason=timeout;retry-after=30"))
            .unwrap();
        assert_eq!(s.state(), "terminated");
        assert_eq!(s.retry_after(), Some(30));
        let r = Reason::from_header(&bs("Q.850;cause=16;text=\"Terminated\"")).unwrap();
        assert_eq!((r.protocol(), r.cause()), ("Q.850", Some(16)));
        assert_eq!(r.text().as_deref(), Some("Terminated"));
    }

    #[test]
    fn retry_after() {
        let r =
            RetryAfter::from_header(&bs("18000 (in a (nested) meeting) ;duration=3600")).unwrap();
        assert_eq!(r.seconds, 18000);
        assert_eq!(r.comment.as_deref(), Some("in a (nested) meeting"));
        assert_eq!(r.duration, Some(3600));
        let deep = format!("1 {}", "(".repeat(100));
        assert!(RetryAfter::from_header(&bs(&deep)).is_err());
    }

    #[test]
    fn dates() {
        let d = Date::from_header(&bs("Sat, 13 Nov 2010 23:29:00 GMT")).unwrap();
        assert_eq!(d.unix_seconds, 1_289_690_940);
        assert_eq!(
            Date::format(d.unix_seconds),
            "Sat, 13 Nov 2010 23:29:00 GMT"
        );
        assert!(Date::from_header(&bs("Sat, 13 Nov 2010 23:29:00 EST")).is_err());
        assert_eq!(Date::format(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
