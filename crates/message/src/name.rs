//! Header names: the well-known ones as an enum (so lookups are integer compares), their
//! compact forms, and everything else kept by its text.

use std::fmt;

macro_rules! header_kinds {
    ($( $variant:ident => $canonical:literal $(, compact $compact:literal)? ; )*) => {
        /// A header field name. Well-known names are variants; any other name is
        /// [`HeaderKind::Other`] and is matched by its text, case-insensitively.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum HeaderKind {
            $( #[doc = $canonical] $variant, )*
            /// A header this crate has no special knowledge of; kept verbatim.
            Other,
        }

        /// Every known header with its canonical name.
        const ALL: &[(&str, HeaderKind)] = &[ $( ($canonical, HeaderKind::$variant), )* ];

        impl HeaderKind {
            /// The canonical spelling used when this crate writes the header.
            pub fn canonical(self) -> &'static str {
                match self {
                    $( HeaderKind::$variant => $canonical, )*
                    HeaderKind::Other => "",
                }
            }

            /// Classifies a header name as written on the wire (any case, long or compact).
            pub fn from_name(name: &[u8]) -> HeaderKind {
                if !name.iter().all(|&b| crate::text::is_token_char(b)) {
                    return HeaderKind::Other;
                }
                HeaderKind::from_token(name)
            }

            /// [`HeaderKind::from_name`] for a name already known to be a token (the
            /// indexer checks that), which makes the fast comparison exact.
            pub(crate) fn from_token(name: &[u8]) -> HeaderKind {
                if name.len() == 1 {
                    let c = name[0].to_ascii_lowercase();
                    $( $( if c == $compact { return HeaderKind::$variant; } )? )*
                    return HeaderKind::Other;
                }
                // Open addressing on (length, first, last byte): usually one compare.
                let mut slot = name_hash(name);
                loop {
                    let i = NAME_TABLE[slot];
                    let Some((text, kind)) = ALL.get(i as usize) else {
                        return HeaderKind::Other;
                    };
                    if eq_token_ci(name, text.as_bytes()) {
                        return *kind;
                    }
                    slot = (slot + 1) % NAME_TABLE.len();
                }
            }

            /// The compact form (RFC 3261 §7.3.3 and later RFCs), if there is one.
            pub fn compact(self) -> Option<char> {
                match self {
                    $( $( HeaderKind::$variant => Some($compact as char), )? )*
                    _ => None,
                }
            }
        }
    };
}

header_kinds! {
    Via => "Via", compact b'v';
    From => "From", compact b'f';
    To => "To", compact b't';
    CallId => "Call-ID", compact b'i';
    CSeq => "CSeq";
    Contact => "Contact", compact b'm';
    MaxForwards => "Max-Forwards";
    Expires => "Expires";
    MinExpires => "Min-Expires";
    Route => "Route";
    RecordRoute => "Record-Route";
    Path => "Path";
    Authorization => "Authorization";
    ProxyAuthorization => "Proxy-Authorization";
    WwwAuthenticate => "WWW-Authenticate";
    ProxyAuthenticate => "Proxy-Authenticate";
    AuthenticationInfo => "Authentication-Info";
    ContentType => "Content-Type", compact b'c';
    ContentLength => "Content-Length", compact b'l';
    ContentEncoding => "Content-Encoding", compact b'e';
    ContentDisposition => "Content-Disposition";
    Allow => "Allow";
    AllowEvents => "Allow-Events", compact b'u';
    Supported => "Supported", compact b'k';
    Require => "Require";
    ProxyRequire => "Proxy-Require";
    Unsupported => "Unsupported";
    UserAgent => "User-Agent";
    Server => "Server";
    Event => "Event", compact b'o';
    SubscriptionState => "Subscription-State";
    Accept => "Accept";
    AcceptEncoding => "Accept-Encoding";
    AcceptLanguage => "Accept-Language";
    Date => "Date";
    RetryAfter => "Retry-After";
    Reason => "Reason";
    Subject => "Subject", compact b's';
    ReferTo => "Refer-To", compact b'r';
    ReferredBy => "Referred-By", compact b'b';
    SessionExpires => "Session-Expires", compact b'x';
    MinSe => "Min-SE";
    Identity => "Identity", compact b'y';
    AcceptContact => "Accept-Contact", compact b'a';
    RejectContact => "Reject-Contact", compact b'j';
    RequestDisposition => "Request-Disposition", compact b'd';
    Timestamp => "Timestamp";
    Warning => "Warning";
    Organization => "Organization";
    Priority => "Priority";
    ReplyTo => "Reply-To";
    InReplyTo => "In-Reply-To";
    AlertInfo => "Alert-Info";
    CallInfo => "Call-Info";
    ErrorInfo => "Error-Info";
    MimeVersion => "MIME-Version";
    ContentLanguage => "Content-Language";
    PAssertedIdentity => "P-Asserted-Identity";
    PPreferredIdentity => "P-Preferred-Identity";
    Privacy => "Privacy";
    RemotePartyId => "Remote-Party-ID";
    Diversion => "Diversion";
    ServiceRoute => "Service-Route";
    SipETag => "SIP-ETag";
    SipIfMatch => "SIP-If-Match";
    Replaces => "Replaces";
    RSeq => "RSeq";
    RAck => "RAck";
}

/// Case-insensitive equality of a token with a known header name, eight bytes at a
/// time. Setting bit 0x20 lower-cases letters and leaves `-` alone; among token
/// characters no two others collide that way, so for tokens this is exact.
fn eq_token_ci(token: &[u8], known: &[u8]) -> bool {
    const LOWER: u64 = 0x2020_2020_2020_2020;
    if token.len() != known.len() {
        return false;
    }
    let mut a = token.chunks_exact(8);
    let mut b = known.chunks_exact(8);
    for (x, y) in (&mut a).zip(&mut b) {
        let (Ok(x), Ok(y)) = (<[u8; 8]>::try_from(x), <[u8; 8]>::try_from(y)) else {
            return false;
        };
        if u64::from_le_bytes(x) | LOWER != u64::from_le_bytes(y) | LOWER {
            return false;
        }
    }
    a.remainder()
        .iter()
        .zip(b.remainder())
        .all(|(x, y)| x | 0x20 == y | 0x20)
}

/// Slots of the name table: a power of two well above the number of known names,
/// so that probe sequences stay short and always reach an empty slot.
const TABLE_SLOTS: usize = 256;

/// Hash of a header name, case-insensitive: its length, first and last byte.
const fn name_hash(name: &[u8]) -> usize {
    let n = name.len();
    if n == 0 {
        return 0;
    }
    let first = name[0].to_ascii_lowercase() as usize;
    let last = name[n - 1].to_ascii_lowercase() as usize;
    (n.wrapping_mul(31) ^ first.wrapping_mul(7) ^ last.wrapping_mul(131)) % TABLE_SLOTS
}

/// Indexes into [`ALL`] by [`name_hash`] with linear probing (`u8::MAX` is empty),
/// built at compile time.
const NAME_TABLE: [u8; TABLE_SLOTS] = {
    let mut t = [u8::MAX; TABLE_SLOTS];
    let mut i = 0;
    while i < ALL.len() {
        let mut slot = name_hash(ALL[i].0.as_bytes());
        while t[slot] != u8::MAX {
            slot = (slot + 1) % TABLE_SLOTS;
        }
        t[slot] = i as u8;
        i += 1;
    }
    t
};

impl HeaderKind {
    /// Whether RFC 3261 (and the extensions this crate knows) allow several values of
    /// this header to be combined on one line separated by commas (§7.3.1). For these,
    /// repeated lines and comma lists are equivalent.
    pub fn is_list(self) -> bool {
        use HeaderKind::*;
        matches!(
            self,
            Via | Contact
                | Route
                | RecordRoute
                | Path
                | Allow
                | AllowEvents
                | Supported
                | Require
                | ProxyRequire
                | Unsupported
                | Accept
                | AcceptEncoding
                | AcceptLanguage
                | ContentEncoding
                | ContentLanguage
                | Reason
                | Warning
                | AlertInfo
                | CallInfo
                | ErrorInfo
                | InReplyTo
                | PAssertedIdentity
                | PPreferredIdentity
                | Privacy
                | ServiceRoute
                | AcceptContact
                | RejectContact
                | Diversion
                | RemotePartyId
        )
    }

    /// Headers RFC 3261 allows at most once in a message; a second copy makes the
    /// message invalid (RFC 4475 §3.3.8).
    pub fn is_single(self) -> bool {
        use HeaderKind::*;
        matches!(
            self,
            From | To
                | CallId
                | CSeq
                | MaxForwards
                | ContentLength
                | ContentType
                | Expires
                | MinExpires
                | Date
                | RetryAfter
                | Event
                | SubscriptionState
                | MimeVersion
                | Timestamp
        )
    }
}

/// A header name: its kind plus, for [`HeaderKind::Other`], the text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HeaderName {
    /// A well-known header.
    Known(HeaderKind),
    /// Any other header, by its name as written.
    Other(String),
}

impl HeaderName {
    /// Classifies a header name (any case, long or compact form).
    pub fn new(name: &str) -> HeaderName {
        match HeaderKind::from_name(name.as_bytes()) {
            HeaderKind::Other => HeaderName::Other(name.to_owned()),
            k => HeaderName::Known(k),
        }
    }

    /// The kind of header ([`HeaderKind::Other`] for unknown names).
    pub fn kind(&self) -> HeaderKind {
        match self {
            HeaderName::Known(k) => *k,
            HeaderName::Other(_) => HeaderKind::Other,
        }
    }

    /// The spelling this crate writes.
    pub fn as_str(&self) -> &str {
        match self {
            HeaderName::Known(k) => k.canonical(),
            HeaderName::Other(s) => s,
        }
    }

    /// Whether a name as written on the wire denotes this header.
    pub fn matches(&self, wire_name: &[u8]) -> bool {
        match self {
            HeaderName::Known(k) => HeaderKind::from_name(wire_name) == *k,
            HeaderName::Other(s) => wire_name.eq_ignore_ascii_case(s.as_bytes()),
        }
    }
}

impl From<HeaderKind> for HeaderName {
    fn from(k: HeaderKind) -> Self {
        HeaderName::Known(k)
    }
}

impl From<&str> for HeaderName {
    fn from(s: &str) -> Self {
        HeaderName::new(s)
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_name_is_found_in_any_case() {
        for (text, kind) in ALL {
            assert_eq!(HeaderKind::from_name(text.as_bytes()), *kind, "{text}");
            assert_eq!(HeaderKind::from_name(text.to_lowercase().as_bytes()), *kind);
            assert_eq!(HeaderKind::from_name(text.to_uppercase().as_bytes()), *kind);
            assert_eq!(kind.canonical(), *text);
        }
        for unknown in ["", "q", "Viaa", "Fro", "X-Asterisk-Info", "Content-Lengths"] {
            assert_eq!(
                HeaderKind::from_name(unknown.as_bytes()),
                HeaderKind::Other,
                "{unknown}"
            );
        }
    }

    #[test]
    fn names_are_case_insensitive_and_compact() {
        assert_eq!(
            HeaderKind::from_name(b"MaX-fOrWaRdS"),
            HeaderKind::MaxForwards
        );
        assert_eq!(HeaderKind::from_name(b"v"), HeaderKind::Via);
        assert_eq!(HeaderKind::from_name(b"I"), HeaderKind::CallId);
        assert_eq!(HeaderKind::from_name(b"call-id"), HeaderKind::CallId);
        assert_eq!(HeaderKind::from_name(b"X-Custom"), HeaderKind::Other);
        assert_eq!(HeaderKind::from_name(b"q"), HeaderKind::Other);
        for (c, k) in [
            ('i', HeaderKind::CallId),
            ('m', HeaderKind::Contact),
            ('f', HeaderKind::From),
            ('t', HeaderKind::To),
            ('v', HeaderKind::Via),
            ('l', HeaderKind::ContentLength),
            ('c', HeaderKind::ContentType),
            ('k', HeaderKind::Supported),
            ('e', HeaderKind::ContentEncoding),
            ('s', HeaderKind::Subject),
            ('o', HeaderKind::Event),
            ('u', HeaderKind::AllowEvents),
            ('r', HeaderKind::ReferTo),
            ('b', HeaderKind::ReferredBy),
            ('x', HeaderKind::SessionExpires),
            ('y', HeaderKind::Identity),
        ] {
            assert_eq!(HeaderKind::from_name(c.to_string().as_bytes()), k);
            assert_eq!(k.compact(), Some(c));
        }
    }
}
