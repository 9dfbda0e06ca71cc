//! The SIP message: raw bytes, an index of the header fields, and typed values decoded
//! on first use and cached.
//!
//! A parsed message keeps the buffer it came in (`Bytes`, shared, never copied). Each
//! header field is two spans into it. Typed accessors decode a field when first asked
//! and keep the result, so a registrar that reads `Contact` three times decodes it once
//! and a proxy that never reads `Date` never decodes it.
//!
//! The cache is a plain `OnceCell` per header, not an atomic `OnceLock`: a message is
//! handled by one task at a time (it moves between tasks, it is not shared), and the
//! atomic version cost 5% of the registrar's decode time. So `Message` is `Send` but
//! not `Sync`; to look at one message from two threads, clone it or share its bytes.

use std::cell::OnceCell;

use bytes::Bytes;
use bytestring::ByteString;

use crate::error::{HeaderError, ParseError};
use crate::headers::{
    CSeq, CallId, Challenge, Contact, Credentials, Date, Event, FromHeader, MediaType, NameAddr,
    Reason, RetryAfter, SubscriptionState, Via,
};
use crate::limits::Limits;
use crate::method::Method;
use crate::name::HeaderKind;
use crate::params::Span;
use crate::parse;
use crate::text::{split_list, unfold};
use crate::uri::Uri;

/// The protocol version from the start line (`SIP/2.0` is 2.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// Major number.
    pub major: u8,
    /// Minor number.
    pub minor: u8,
}

impl Version {
    /// SIP/2.0, the only version RFC 3261 defines.
    pub const SIP_2_0: Version = Version { major: 2, minor: 0 };
}

/// The first line of a message.
#[derive(Debug, Clone)]
pub enum StartLine {
    /// `METHOD Request-URI SIP/2.0`
    Request {
        /// The method.
        method: Method,
        /// The Request-URI.
        uri: Uri,
        /// The version.
        version: Version,
    },
    /// `SIP/2.0 code reason`
    Response {
        /// The version.
        version: Version,
        /// The status code, 100 ..= 699.
        code: u16,
        /// The reason phrase (may be empty).
        reason: ByteString,
    },
}

/// Where a header field's name or value lives: in the received bytes, or in a string
/// set after parsing (an index into the message's `owned` list). Kept small, because
/// the index holds one per field and is written for every header of every message.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FieldText {
    Raw(Span),
    Owned(u32),
}

/// One header field (one line, with its continuation lines).
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub kind: HeaderKind,
    pub name: FieldText,
    pub value: FieldText,
    /// The whole field as received (name to the end of the value); empty for
    /// fields added after parsing.
    pub line: Span,
}

type Cached<T> = OnceCell<Result<T, HeaderError>>;
type List<T> = smallvec::SmallVec<[T; 1]>;

/// Typed values of the headers every request touches, decoded once.
#[derive(Debug, Clone, Default)]
struct Cache {
    via: Cached<Vec<Via>>,
    top_via: Cached<Via>,
    from: Cached<NameAddr>,
    to: Cached<NameAddr>,
    call_id: Cached<CallId>,
    cseq: Cached<CSeq>,
    contact: Cached<List<Contact>>,
    max_forwards: Cached<Option<u8>>,
    expires: Cached<Option<u32>>,
    authorization: Cached<List<Credentials>>,
    proxy_authorization: Cached<List<Credentials>>,
}

/// A SIP request or response.
#[derive(Debug, Clone)]
pub struct Message {
    pub(crate) raw: Bytes,
    pub(crate) start: StartLine,
    pub(crate) fields: Vec<Field>,
    pub(crate) body: Bytes,
    /// Texts of fields set after parsing (see [`FieldText::Owned`]).
    pub(crate) owned: Vec<ByteString>,
    pub(crate) modified: bool,
    limits: Limits,
    /// Boxed: the typed values are large, and a message is moved several times on its
    /// way from the socket to a service.
    cache: Box<Cache>,
}

/// A borrowed view of one header field.
#[derive(Debug, Clone, Copy)]
pub struct HeaderRef<'a> {
    /// The kind of header.
    pub kind: HeaderKind,
    /// The name as written (compact or long, any case).
    pub name: &'a str,
    /// The value as written, folding included, surrounding whitespace removed.
    pub value: &'a [u8],
}

impl Message {
    /// Parses one message from a datagram (UDP): the body is framed by Content-Length
    /// when present and bytes after it are discarded; without Content-Length the body
    /// is the rest of the datagram.
    pub fn parse(bytes: impl Into<Bytes>) -> Result<Message, ParseError> {
        Message::parse_with_limits(bytes, &Limits::DEFAULT)
    }

    /// [`Message::parse`] with explicit limits.
    pub fn parse_with_limits(
        bytes: impl Into<Bytes>,
        limits: &Limits,
    ) -> Result<Message, ParseError> {
        parse::parse(bytes.into(), limits)
    }

    pub(crate) fn from_parts(
        raw: Bytes,
        start: StartLine,
        fields: Vec<Field>,
        body: Bytes,
        limits: &Limits,
    ) -> Message {
        Message {
            raw,
            start,
            fields,
            body,
            owned: Vec::new(),
            modified: false,
            limits: *limits,
            cache: Box::default(),
        }
    }

    pub(crate) fn invalidate(&mut self) {
        self.modified = true;
        *self.cache = Cache::default();
    }

    // ---- start line -------------------------------------------------------------

    /// The start line.
    pub fn start_line(&self) -> &StartLine {
        &self.start
    }
    /// True for a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }
    /// The method of a request, `None` for a response.
    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }
    /// The Request-URI of a request.
    pub fn request_uri(&self) -> Option<&Uri> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }
    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            StartLine::Request { .. } => None,
        }
    }
    /// The reason phrase of a response.
    pub fn reason(&self) -> Option<&str> {
        match &self.start {
            StartLine::Response { reason, .. } => Some(reason),
            StartLine::Request { .. } => None,
        }
    }
    /// The protocol version from the start line.
    pub fn version(&self) -> Version {
        match &self.start {
            StartLine::Request { version, .. } | StartLine::Response { version, .. } => *version,
        }
    }

    /// The body (empty when there is none).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The bytes the message was parsed from (start line to end of body), unchanged
    /// by later modification.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    // ---- untyped header access -------------------------------------------------

    pub(crate) fn text_of<'a>(&'a self, t: &FieldText) -> &'a [u8] {
        text_in(&self.raw, &self.owned, t)
    }

    /// Stores a text set after parsing and returns its handle.
    pub(crate) fn own(&mut self, text: ByteString) -> FieldText {
        self.owned.push(text);
        FieldText::Owned((self.owned.len() - 1) as u32)
    }

    fn header_ref<'a>(&'a self, f: &'a Field) -> HeaderRef<'a> {
        HeaderRef {
            kind: f.kind,
            // Names were checked to be tokens (ASCII) when indexed or set.
            name: std::str::from_utf8(self.text_of(&f.name)).unwrap_or(""),
            value: self.text_of(&f.value),
        }
    }

    /// Every header field in order.
    pub fn headers(&self) -> impl Iterator<Item = HeaderRef<'_>> {
        self.fields.iter().map(|f| self.header_ref(f))
    }

    /// Number of header fields.
    pub fn header_count(&self) -> usize {
        self.fields.len()
    }

    pub(crate) fn fields_of(&self, kind: HeaderKind) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(move |f| f.kind == kind)
    }

    /// The raw values of every field with this name (any case, long or compact form).
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let kind = HeaderKind::from_name(name.as_bytes());
        self.fields
            .iter()
            .filter(move |f| field_named(&self.raw, &self.owned, f, kind, name.as_bytes()))
            .map(|f| self.text_of(&f.value))
    }

    /// The first raw value of a header, if present.
    pub fn value<'a>(&'a self, name: &'a str) -> Option<&'a [u8]> {
        self.values(name).next()
    }

    /// Whether any field of this kind is present.
    pub fn has(&self, kind: HeaderKind) -> bool {
        self.fields.iter().any(|f| f.kind == kind)
    }

    /// The unfolded UTF-8 text of one field's value.
    pub(crate) fn field_text(&self, f: &Field) -> Result<ByteString, HeaderError> {
        let name = f.kind.canonical();
        let text = match &f.value {
            FieldText::Owned(i) => {
                return Ok(self.owned.get(*i as usize).cloned().unwrap_or_default())
            }
            FieldText::Raw(s) => {
                ByteString::try_from(self.raw.slice(s.start as usize..s.end as usize))
                    .map_err(|_| HeaderError::new(name, "value is not valid UTF-8"))?
            }
        };
        Ok(match unfold(&text) {
            std::borrow::Cow::Borrowed(_) => text,
            std::borrow::Cow::Owned(s) => ByteString::from(s),
        })
    }

    /// Decodes every value of a header as `T`. Comma-separated lists and repeated
    /// fields both contribute, in order (RFC 3261 §7.3.1).
    pub fn typed_all<T: FromHeader>(&self, kind: HeaderKind) -> Result<Vec<T>, HeaderError> {
        let mut out = Vec::new();
        self.decode_all(kind, |v| out.push(v))?;
        Ok(out)
    }

    /// Decodes every value of a header, handing each to `push`, in order.
    fn decode_all<T: FromHeader>(
        &self,
        kind: HeaderKind,
        mut push: impl FnMut(T),
    ) -> Result<(), HeaderError> {
        let name = kind.canonical();
        let mut count = 0usize;
        for f in self.fields_of(kind) {
            let text = self.field_text(f)?;
            if kind.is_list() {
                for elem in split_list(&text) {
                    if elem.is_empty() {
                        return Err(HeaderError::new(name, "empty element in the list"));
                    }
                    if count >= self.limits.max_list_elements {
                        return Err(HeaderError::new(name, "too many list elements"));
                    }
                    count += 1;
                    push(
                        T::from_header_limited(&text.slice_ref(elem), &self.limits)
                            .map_err(|d| HeaderError::new(name, d))?,
                    );
                }
            } else {
                push(
                    T::from_header_limited(&text, &self.limits)
                        .map_err(|d| HeaderError::new(name, d))?,
                );
            }
        }
        Ok(())
    }

    /// Like [`Message::typed_all`] into a list that holds one value without
    /// allocating: most messages have one Contact and one Authorization.
    fn decode_list<T: FromHeader>(&self, kind: HeaderKind) -> Result<List<T>, HeaderError> {
        let mut out = List::new();
        self.decode_all(kind, |v| out.push(v))?;
        Ok(out)
    }

    /// Decodes the first value of a header as `T`; `Ok(None)` when absent.
    pub fn typed_first<T: FromHeader>(&self, kind: HeaderKind) -> Result<Option<T>, HeaderError> {
        match self.fields_of(kind).next() {
            Some(f) => self.decode_first(f).map(Some),
            None => Ok(None),
        }
    }

    /// Decodes the first value of field `f`. Shared by [`Message::typed_first`] and the
    /// cached accessors, which call it directly so that a large value is not moved
    /// through an extra `Option`.
    fn decode_first<T: FromHeader>(&self, f: &Field) -> Result<T, HeaderError> {
        let text = self.field_text(f)?;
        let elem = if f.kind.is_list() {
            split_list(&text).next().unwrap_or("")
        } else {
            &text
        };
        T::from_header_limited(&text.slice_ref(elem), &self.limits)
            .map_err(|d| HeaderError::new(f.kind.canonical(), d))
    }

    /// The unfolded text of the first field of a header; for free-text headers such as
    /// User-Agent, Server and Subject.
    pub fn text(&self, kind: HeaderKind) -> Result<Option<ByteString>, HeaderError> {
        self.fields_of(kind)
            .next()
            .map(|f| self.field_text(f))
            .transpose()
    }

    fn single<T: FromHeader>(&self, kind: HeaderKind) -> Result<T, HeaderError> {
        match self.fields_of(kind).next() {
            Some(f) => self.decode_first(f),
            None => Err(HeaderError::new(kind.canonical(), "missing")),
        }
    }

    // ---- typed, cached ---------------------------------------------------------

    /// Every Via value, top first.
    pub fn via(&self) -> Result<&[Via], HeaderError> {
        cached(&self.cache.via, || self.typed_all(HeaderKind::Via)).map(Vec::as_slice)
    }
    /// The top Via: the one a server answers to (RFC 3261 §18.2.2).
    ///
    /// Decodes only the first Via value unless the whole list was decoded already:
    /// transaction matching reads the top Via of every message, the rest only matter
    /// when a response is forwarded.
    pub fn top_via(&self) -> Result<&Via, HeaderError> {
        if let Some(all) = self.cache.via.get() {
            return match all {
                Ok(v) => v.first().ok_or_else(|| HeaderError::new("Via", "missing")),
                Err(e) => Err(e.clone()),
            };
        }
        cached(&self.cache.top_via, || self.single(HeaderKind::Via))
    }
    /// From.
    pub fn from(&self) -> Result<&NameAddr, HeaderError> {
        cached(&self.cache.from, || self.single(HeaderKind::From))
    }
    /// To.
    pub fn to(&self) -> Result<&NameAddr, HeaderError> {
        cached(&self.cache.to, || self.single(HeaderKind::To))
    }
    /// Call-ID.
    pub fn call_id(&self) -> Result<&CallId, HeaderError> {
        cached(&self.cache.call_id, || self.single(HeaderKind::CallId))
    }
    /// CSeq.
    pub fn cseq(&self) -> Result<&CSeq, HeaderError> {
        cached(&self.cache.cseq, || self.single(HeaderKind::CSeq))
    }
    /// Every Contact value (`*` included as [`Contact::Wildcard`]).
    pub fn contacts(&self) -> Result<&[Contact], HeaderError> {
        cached(&self.cache.contact, || {
            self.decode_list(HeaderKind::Contact)
        })
        .map(|v| v.as_slice())
    }
    /// Max-Forwards, `None` when absent.
    pub fn max_forwards(&self) -> Result<Option<u8>, HeaderError> {
        cached(&self.cache.max_forwards, || {
            self.typed_first(HeaderKind::MaxForwards)
        })
        .copied()
    }
    /// Expires in seconds, `None` when absent.
    pub fn expires(&self) -> Result<Option<u32>, HeaderError> {
        cached(&self.cache.expires, || {
            self.typed_first(HeaderKind::Expires)
        })
        .copied()
    }
    /// Every Authorization value.
    pub fn authorization(&self) -> Result<&[Credentials], HeaderError> {
        cached(&self.cache.authorization, || {
            self.decode_list(HeaderKind::Authorization)
        })
        .map(|v| v.as_slice())
    }
    /// Every Proxy-Authorization value.
    pub fn proxy_authorization(&self) -> Result<&[Credentials], HeaderError> {
        cached(&self.cache.proxy_authorization, || {
            self.decode_list(HeaderKind::ProxyAuthorization)
        })
        .map(|v| v.as_slice())
    }

    // ---- typed, decoded per call (rarely on a hot path) ---------------------------

    /// Min-Expires.
    pub fn min_expires(&self) -> Result<Option<u32>, HeaderError> {
        self.typed_first(HeaderKind::MinExpires)
    }
    /// Route values in order.
    pub fn route(&self) -> Result<Vec<NameAddr>, HeaderError> {
        self.typed_all(HeaderKind::Route)
    }
    /// Record-Route values in order.
    pub fn record_route(&self) -> Result<Vec<NameAddr>, HeaderError> {
        self.typed_all(HeaderKind::RecordRoute)
    }
    /// Path values in order (RFC 3327).
    pub fn path(&self) -> Result<Vec<NameAddr>, HeaderError> {
        self.typed_all(HeaderKind::Path)
    }
    /// Every WWW-Authenticate challenge.
    pub fn www_authenticate(&self) -> Result<Vec<Challenge>, HeaderError> {
        self.typed_all(HeaderKind::WwwAuthenticate)
    }
    /// Every Proxy-Authenticate challenge.
    pub fn proxy_authenticate(&self) -> Result<Vec<Challenge>, HeaderError> {
        self.typed_all(HeaderKind::ProxyAuthenticate)
    }
    /// Content-Type.
    pub fn content_type(&self) -> Result<Option<MediaType>, HeaderError> {
        self.typed_first(HeaderKind::ContentType)
    }
    /// Accept media ranges.
    pub fn accept(&self) -> Result<Vec<MediaType>, HeaderError> {
        self.typed_all(HeaderKind::Accept)
    }
    /// Methods in Allow.
    pub fn allow(&self) -> Result<Vec<ByteString>, HeaderError> {
        self.typed_all(HeaderKind::Allow)
    }
    /// Option tags in Supported.
    pub fn supported(&self) -> Result<Vec<ByteString>, HeaderError> {
        self.typed_all(HeaderKind::Supported)
    }
    /// Option tags in Require.
    pub fn require(&self) -> Result<Vec<ByteString>, HeaderError> {
        self.typed_all(HeaderKind::Require)
    }
    /// Option tags in Proxy-Require.
    pub fn proxy_require(&self) -> Result<Vec<ByteString>, HeaderError> {
        self.typed_all(HeaderKind::ProxyRequire)
    }
    /// Option tags in Unsupported.
    pub fn unsupported(&self) -> Result<Vec<ByteString>, HeaderError> {
        self.typed_all(HeaderKind::Unsupported)
    }
    /// Event packages in Allow-Events.
    pub fn allow_events(&self) -> Result<Vec<ByteString>, HeaderError> {
        self.typed_all(HeaderKind::AllowEvents)
    }
    /// User-Agent text.
    pub fn user_agent(&self) -> Result<Option<ByteString>, HeaderError> {
        self.text(HeaderKind::UserAgent)
    }
    /// Server text.
    pub fn server(&self) -> Result<Option<ByteString>, HeaderError> {
        self.text(HeaderKind::Server)
    }
    /// Event.
    pub fn event(&self) -> Result<Option<Event>, HeaderError> {
        self.typed_first(HeaderKind::Event)
    }
    /// Subscription-State.
    pub fn subscription_state(&self) -> Result<Option<SubscriptionState>, HeaderError> {
        self.typed_first(HeaderKind::SubscriptionState)
    }
    /// Date.
    pub fn date(&self) -> Result<Option<Date>, HeaderError> {
        self.typed_first(HeaderKind::Date)
    }
    /// Retry-After.
    pub fn retry_after(&self) -> Result<Option<RetryAfter>, HeaderError> {
        self.typed_first(HeaderKind::RetryAfter)
    }
    /// Reason values.
    pub fn reasons(&self) -> Result<Vec<Reason>, HeaderError> {
        self.typed_all(HeaderKind::Reason)
    }
}

/// The bytes of a field's name or value, given the message's parts (so that callers
/// holding `&mut` to the field list can still read texts).
pub(crate) fn text_in<'a>(raw: &'a Bytes, owned: &'a [ByteString], t: &FieldText) -> &'a [u8] {
    match t {
        FieldText::Raw(s) => raw.get(s.start as usize..s.end as usize).unwrap_or(b""),
        FieldText::Owned(i) => owned.get(*i as usize).map_or(b"", |b| b.as_bytes()),
    }
}

/// Whether field `f` is the header `kind` (for [`HeaderKind::Other`], the one called
/// `name`, compared case-insensitively).
pub(crate) fn field_named(
    raw: &Bytes,
    owned: &[ByteString],
    f: &Field,
    kind: HeaderKind,
    name: &[u8],
) -> bool {
    f.kind == kind
        && (kind != HeaderKind::Other || text_in(raw, owned, &f.name).eq_ignore_ascii_case(name))
}

fn cached<T>(
    cell: &OnceCell<Result<T, HeaderError>>,
    init: impl FnOnce() -> Result<T, HeaderError>,
) -> Result<&T, HeaderError> {
    cell.get_or_init(init).as_ref().map_err(Clone::clone)
}
