//! The registrar rules (spec §6.2, §6.4–6.9): a REGISTER in, a [`Decision`] out.

use sip_message::{Contact as ContactHeader, Date, HeaderKind, Message, SipUri};
use sorcery::object::Meta;
use sorcery::types::{Aor, Contact};
use sorcery::value::Text;

use crate::change::{Change, ChangeKind, ChangeReason, Current};
use crate::contact_id::{dynamic_contact_id, static_contact_id};
use crate::expiration::{clamp_expiration, ExpirationLimits};
use crate::nat::{self, restore_orig_host, rewrite_contact_uri, Source};
use crate::reply::{printable, Reply};

/// Longest Contact URI accepted, in bytes: the width of `ps_contacts.uri` and of an
/// aor's static `contact` (the store refuses longer ones too).
pub const MAX_CONTACT_URI_LEN: usize = 511;
/// Longest Contact host accepted: a DNS name is at most 255 bytes (RFC 1035 §2.3.4).
pub const MAX_CONTACT_HOST_LEN: usize = 255;

/// Everything the registrar rules read. The request has already been identified as
/// `endpoint`'s and authenticated; `aor` is the object [`find_aor`](crate::find_aor)
/// named; `current` is the AOR's dynamic contacts as the location service holds them.
pub struct Registration<'a> {
    /// The REGISTER.
    pub request: &'a Message,
    /// The identified endpoint's id.
    pub endpoint: &'a str,
    /// The AOR (its id is the AOR name).
    pub aor: &'a Aor,
    /// The AOR's dynamic contacts now (static ones come from `aor.contact`).
    pub current: &'a [Current],
    /// The packet's source and transport (for `rewrite_contact` and `prune_on_boot`).
    pub source: Source,
    /// The endpoint's `rewrite_contact`.
    pub rewrite_contact: bool,
    /// This server's name (`reg_server`, Asterisk's `systemname`); may be empty.
    pub reg_server: &'a str,
    /// Now, UNIX seconds.
    pub now: u64,
}

/// The registrar's answer: the response, and the changes to make durable before it is
/// sent (none unless the reply is a 200).
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The response to send once the changes are stored.
    pub reply: Reply,
    /// Contacts to add, refresh and delete, in the order they should be applied.
    pub changes: Vec<Change>,
    /// Contacts the request asked to remove that were not bound (new with expires 0);
    /// Asterisk logs these and does nothing else.
    pub ignored: Vec<String>,
}

impl Decision {
    fn reject(reply: Reply) -> Decision {
        Decision {
            reply,
            changes: Vec::new(),
            ignored: Vec::new(),
        }
    }
}

/// One usable Contact of the request, after rewriting and expiration rules.
struct Wanted {
    uri: SipUri,
    expires: u32,
}

/// Applies spec §6.2 and §6.4–6.9 to one REGISTER. Never panics on any request; every
/// refusal says why in its reason phrase.
pub fn register(r: &Registration<'_>) -> Decision {
    match decide(r) {
        Ok(d) => d,
        Err(reply) => Decision::reject(reply),
    }
}

fn decide(r: &Registration<'_>) -> Result<Decision, Reply> {
    let aor = r.aor;
    let aor_name = aor.meta.id.as_str();
    if aor.max_contacts == 0 {
        return Err(Reply::error(
            403,
            format!(
                "AOR '{}' does not accept registrations (max_contacts=0)",
                printable(aor_name)
            ),
        ));
    }
    let limits = ExpirationLimits::of(aor);
    let header_expires = r
        .request
        .expires()
        .map_err(|e| Reply::error(400, format!("Bad Expires header: {e}")))?;
    let (wildcard, wanted) = wanted_contacts(r, &limits, header_expires)?;

    let path = if aor.support_path {
        r.request
            .path()
            .map_err(|e| Reply::error(400, format!("Bad Path header: {e}")))?
    } else {
        Vec::new()
    };
    if !path.is_empty() {
        let supported = r
            .request
            .supported()
            .map_err(|e| Reply::error(400, format!("Bad Supported header: {e}")))?;
        if !supported.iter().any(|t| t.eq_ignore_ascii_case("path")) {
            return Err(Reply::error(
                420,
                "Bad Extension: Path needs Supported: path",
            ));
        }
    }
    let path_text = path
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(",");

    // The AOR's live dynamic contacts. Past-due ones are gone (spec §6.10 deletes them
    // lazily on lookup); their removal rides along with a successful answer.
    let mut expired = Vec::new();
    let mut existing: Vec<(&Current, Option<SipUri>)> = Vec::new();
    for c in r.current {
        if c.contact.meta.id.contains("@@") {
            continue; // a static contact slipped in: never counted, never touched
        }
        if c.contact.expiration_time != 0 && c.contact.expiration_time <= r.now {
            expired.push(c);
            continue;
        }
        existing.push((c, SipUri::parse(&c.contact.uri).ok()));
    }

    // Classify (spec §6.5).
    let n = existing.len();
    let mut updated: Vec<(usize, usize)> = Vec::new(); // (wanted, existing)
    let mut added: Vec<usize> = Vec::new();
    let mut deleted = vec![false; n];
    let mut ignored = Vec::new();
    if wildcard {
        deleted.iter_mut().for_each(|d| *d = true);
    }
    for (wi, w) in wanted.iter().enumerate() {
        let found = existing
            .iter()
            .position(|(_, u)| u.as_ref().is_some_and(|u| *u == w.uri));
        match (found, w.expires) {
            (Some(j), 0) => deleted[j] = true,
            (Some(j), _) => updated.push((wi, j)),
            (None, 0) => ignored.push(w.uri.as_str().to_owned()),
            (None, _) => added.push(wi),
        }
    }
    let n_deleted = deleted.iter().filter(|d| **d).count();

    // Limits (spec §6.6).
    let max = aor.max_contacts as usize;
    let mut count = if aor.remove_existing {
        (updated.len() + added.len()).saturating_sub(n_deleted)
    } else {
        (n + added.len()).saturating_sub(n_deleted)
    };
    let is_updated = |j: usize| updated.iter().any(|&(_, e)| e == j);
    let mut removed_unavailable = vec![false; n];
    if count > max && aor.remove_unavailable && !aor.remove_existing {
        // Only untouched contacts whose last qualify failed; soonest-expiring first.
        let mut candidates: Vec<usize> = (0..n)
            .filter(|&j| !deleted[j] && !is_updated(j) && existing[j].0.status.is_unavailable())
            .collect();
        let need = count - max;
        if candidates.len() >= need {
            candidates.sort_by_key(|&j| (existing[j].0.contact.expiration_time, j));
            for &j in candidates.iter().take(need) {
                removed_unavailable[j] = true;
            }
            count -= need;
        }
    }
    if count > max {
        return Err(Reply::error(
            403,
            format!(
                "Registration would exceed the maximum configured contacts ({max}) of AOR '{}'",
                printable(aor_name)
            ),
        ));
    }

    // Apply.
    let mut changes = Vec::new();
    for c in &expired {
        changes.push(Change {
            kind: ChangeKind::Delete,
            reason: ChangeReason::Expiration,
            contact: c.contact.clone(),
            expires_in: 0,
        });
    }
    for j in 0..n {
        if removed_unavailable[j] {
            changes.push(delete(existing[j].0, ChangeReason::RemoveUnavailable));
        } else if deleted[j] {
            changes.push(delete(existing[j].0, ChangeReason::Request));
        }
    }
    let mut bound: Vec<Contact> = Vec::new();
    for &(wi, j) in &updated {
        let w = &wanted[wi];
        let id = existing[j].0.contact.meta.id.clone();
        let c = record(r, id, w, &path_text);
        bound.push(c.clone());
        changes.push(Change {
            kind: ChangeKind::Update,
            reason: ChangeReason::Request,
            contact: c,
            expires_in: w.expires,
        });
    }
    for &wi in &added {
        let w = &wanted[wi];
        let id = Text::from(dynamic_contact_id(aor_name, w.uri.as_str()));
        let c = record(r, id, w, &path_text);
        bound.push(c.clone());
        changes.push(Change {
            kind: ChangeKind::Add,
            reason: ChangeReason::Request,
            contact: c,
            expires_in: w.expires,
        });
    }
    let mut untouched: Vec<usize> = (0..n)
        .filter(|&j| !deleted[j] && !removed_unavailable[j] && !is_updated(j))
        .collect();
    if aor.remove_existing {
        let total = untouched.len() + updated.len() + added.len();
        if total > max {
            let surplus = total - max;
            let unavailable_first = aor.remove_unavailable;
            untouched.sort_by_key(|&j| {
                let c = existing[j].0;
                (
                    !(unavailable_first && c.status.is_unavailable()),
                    c.contact.expiration_time,
                    j,
                )
            });
            for &j in untouched.iter().take(surplus) {
                changes.push(delete(existing[j].0, ChangeReason::RemoveExisting));
            }
            untouched.drain(..surplus.min(untouched.len()));
        }
    }
    for &j in &untouched {
        bound.push(existing[j].0.contact.clone());
    }
    bound.sort_by(|a, b| a.uri.cmp(&b.uri));

    let reply = ok_reply(r, &bound, header_expires, &limits, &path);
    Ok(Decision {
        reply,
        changes,
        ignored,
    })
}

/// Reads the Contact headers: the `*` rules, skipping non-SIP URIs, length limits,
/// effective expirations, NAT rewriting, and one entry per distinct URI (a URI listed
/// twice takes its last expiration, as if the two had come in two requests).
fn wanted_contacts(
    r: &Registration<'_>,
    limits: &ExpirationLimits,
    header_expires: Option<u32>,
) -> Result<(bool, Vec<Wanted>), Reply> {
    let contacts = r
        .request
        .contacts()
        .map_err(|e| Reply::error(400, format!("Bad Contact header: {e}")))?;
    if contacts
        .iter()
        .any(|c| matches!(c, ContactHeader::Wildcard))
    {
        if contacts.len() != 1 {
            return Err(Reply::error(
                400,
                "Contact: * must be the only Contact of the request",
            ));
        }
        if limits.effective(None, header_expires) != 0 {
            return Err(Reply::error(400, "Contact: * needs Expires: 0"));
        }
        return Ok((true, Vec::new()));
    }
    let mut wanted: Vec<Wanted> = Vec::with_capacity(contacts.len());
    for c in contacts {
        let Some(addr) = c.addr() else { continue };
        let Some(uri) = addr.uri().as_sip() else {
            continue; // spec §6.5: non-sip contacts are skipped silently
        };
        if uri.as_str().len() > MAX_CONTACT_URI_LEN {
            return Err(Reply::error(
                400,
                format!("Contact URI longer than {MAX_CONTACT_URI_LEN} bytes"),
            ));
        }
        if uri.host().len() > MAX_CONTACT_HOST_LEN {
            return Err(Reply::error(
                400,
                format!("Contact host longer than {MAX_CONTACT_HOST_LEN} bytes"),
            ));
        }
        let param = addr
            .expires()
            .map_err(|e| Reply::error(400, format!("Bad Contact: {e}")))?;
        let expires = limits.effective(param, header_expires);
        let uri = if r.rewrite_contact {
            rewrite_contact_uri(uri, &r.source)
        } else {
            uri.clone()
        };
        wanted.retain(|w| w.uri != uri);
        wanted.push(Wanted { uri, expires });
    }
    Ok((false, wanted))
}

fn delete(c: &Current, reason: ChangeReason) -> Change {
    Change {
        kind: ChangeKind::Delete,
        reason,
        contact: c.contact.clone(),
        expires_in: 0,
    }
}

/// The stored record of a binding (spec §6.7), every field filled from the request,
/// the AOR and the packet.
fn record(r: &Registration<'_>, id: Text, w: &Wanted, path: &str) -> Contact {
    let aor = r.aor;
    let req = r.request;
    let (via_addr, via_port) = match req.via().ok().and_then(|v| v.last()) {
        Some(v) => (
            v.host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            v.port().unwrap_or(0),
        ),
        None => (String::new(), 0),
    };
    let user_agent = req
        .user_agent()
        .ok()
        .flatten()
        .map(|u| Text::from(&*u))
        .unwrap_or_default();
    let call_id = req
        .call_id()
        .map(|c| Text::from(c.as_str()))
        .unwrap_or_default();
    Contact {
        meta: Meta {
            id,
            ..Meta::default()
        },
        uri: Text::from(w.uri.as_str()),
        expiration_time: r.now.saturating_add(u64::from(w.expires)),
        qualify_frequency: aor.qualify_frequency,
        qualify_timeout: aor.qualify_timeout,
        qualify_2xx_only: aor.qualify_2xx_only,
        authenticate_qualify: aor.authenticate_qualify,
        outbound_proxy: aor.outbound_proxy.clone(),
        path: Text::from(path),
        user_agent,
        reg_server: Text::from(r.reg_server),
        via_addr: Text::from(via_addr),
        via_port,
        call_id,
        endpoint: Text::from(r.endpoint),
        prune_on_boot: nat::prune_on_boot(&w.uri, &r.source, r.rewrite_contact),
    }
}

/// The 200 (spec §6.8): a Contact per binding with the seconds it has left, the static
/// contacts, Date, Expires when the request had one, and Path/Supported when a Path was
/// accepted (RFC 3327 §5.3).
fn ok_reply(
    r: &Registration<'_>,
    bound: &[Contact],
    header_expires: Option<u32>,
    limits: &ExpirationLimits,
    path: &[sip_message::NameAddr],
) -> Reply {
    let mut headers = Vec::with_capacity(bound.len() + r.aor.contact.len() + 4);
    for c in bound {
        let remaining = c.expiration_time.saturating_sub(r.now);
        let shown = match SipUri::parse(&c.uri) {
            Ok(u) => restore_orig_host(&u).into_owned(),
            Err(_) => c.uri.to_string(),
        };
        headers.push((
            HeaderKind::Contact,
            format!("<{shown}>;expires={remaining}"),
        ));
    }
    for s in r.aor.contact.iter() {
        if SipUri::parse(s).is_ok() {
            headers.push((HeaderKind::Contact, format!("<{}>", s.as_str())));
        }
    }
    headers.push((HeaderKind::Date, Date::format(clamp_i64(r.now))));
    if let Some(e) = header_expires {
        headers.push((HeaderKind::Expires, clamp_expiration(e, limits).to_string()));
    }
    if !path.is_empty() {
        for p in path {
            headers.push((HeaderKind::Path, p.as_str().to_owned()));
        }
        headers.push((HeaderKind::Supported, "path".to_owned()));
    }
    Reply {
        code: 200,
        reason: "OK".to_owned(),
        headers,
    }
}

fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The static contacts of an AOR as contact records (spec §2.4), for listings.
pub fn static_contacts(aor: &Aor) -> Vec<Contact> {
    aor.contact
        .iter()
        .map(|uri| Contact {
            meta: Meta {
                id: Text::from(static_contact_id(&aor.meta.id, uri)),
                ..Meta::default()
            },
            uri: uri.clone(),
            qualify_frequency: aor.qualify_frequency,
            qualify_timeout: aor.qualify_timeout,
            qualify_2xx_only: aor.qualify_2xx_only,
            authenticate_qualify: aor.authenticate_qualify,
            outbound_proxy: aor.outbound_proxy.clone(),
            ..Contact::default()
        })
        .collect()
}
