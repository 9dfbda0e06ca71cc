//! The sans-IO core of RFC 3263 §4: which DNS queries to make for a SIP URI,
//! and how their answers become an ordered list of targets.
//!
//! [`Planner`] is a small state machine. The driver calls [`Planner::step`];
//! it either asks for lookups ([`Step::Lookup`]) — the driver performs them
//! (in any order, concurrently if it likes) and hands each result back with
//! [`Planner::answer`] — or finishes ([`Step::Done`]). No sockets, clocks or
//! global randomness: the SRV weighted draw takes its random numbers as an
//! argument, so the whole procedure is testable without a DNS server.
//!
//! The procedure (RFC 3263 §4.1 transport, §4.2 port and address):
//!
//! 1. Host is a numeric IP: no lookup. Port from the URI or the scheme's
//!    default; transport from `transport=` or UDP for `sip`, TLS for `sips`.
//! 2. Port present: A/AAAA of the host only (no NAPTR, no SRV), same default
//!    transport rule.
//! 3. `transport=` present, no port: SRV for that transport; if none, A/AAAA
//!    of the host with the transport's default port.
//! 4. Otherwise NAPTR of the host. Usable records (flag `S`, a known SIP
//!    service for a transport we run, TLS-based for `sips`) are taken in
//!    (order, preference) order and each one's replacement is looked up as SRV.
//!    No usable NAPTR: SRV for every transport we run that suits the scheme,
//!    in our order of preference (`_sip._udp`, `_sip._tcp`, … or `_sips._tcp`).
//!    No SRV at all: A/AAAA of the host with the default port and transport.
//! 5. Each SRV RRset is ordered by RFC 2782 (see [`crate::srv`]) and its
//!    targets' A/AAAA give the addresses.
//!
//! Every usable answer is kept, not only the first, so the result is the
//! whole failover list of RFC 3263 §4.3: later NAPTR records and SRV targets
//! come after earlier ones.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};

use crate::error::ResolveError;
use crate::srv::{order_srv, SrvRecord};
use crate::transport::{Scheme, Target, Transport};

/// The parts of a SIP URI that server location looks at (RFC 3263 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `sip` or `sips`.
    pub scheme: Scheme,
    /// Host part: a domain name, an IPv4 address, or an IPv6 reference
    /// (with or without brackets).
    pub host: String,
    /// Explicit port, if the URI has one.
    pub port: Option<u16>,
    /// The `transport=` parameter, if present (see [`Transport::from_param`]).
    pub transport: Option<Transport>,
}

impl Request {
    /// A URI with only a scheme and host.
    pub fn new(scheme: Scheme, host: impl Into<String>) -> Self {
        Self {
            scheme,
            host: host.into(),
            port: None,
            transport: None,
        }
    }

    /// With an explicit port.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// With a `transport=` parameter.
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = Some(transport);
        self
    }
}

/// One NAPTR record, as the planner needs it (RFC 3403 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaptrRecord {
    /// Records with a lower order are used first.
    pub order: u16,
    /// Among equal order, lower preference first.
    pub preference: u16,
    /// Flags; SIP uses `S` (the replacement is an SRV owner name).
    pub flags: String,
    /// Service field, such as `SIP+D2U` or `SIPS+D2T`.
    pub services: String,
    /// Regular expression; unused by SIP (RFC 3263 §4.1 uses replacement only).
    pub regexp: String,
    /// The SRV owner name to look up next.
    pub replacement: String,
}

/// A lookup the driver must perform.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Query {
    /// NAPTR records of `name`.
    Naptr {
        /// Domain to query.
        name: String,
    },
    /// SRV records of `name`.
    Srv {
        /// Full SRV owner name (`_sip._udp.example.com`).
        name: String,
    },
    /// A and AAAA records of `name`.
    Address {
        /// Host to query.
        name: String,
    },
}

/// The result of a [`Query`], handed back through [`Planner::answer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// NAPTR records (empty for NXDOMAIN / no data).
    Naptr(Vec<NaptrRecord>),
    /// SRV records (empty for NXDOMAIN / no data).
    Srv(Vec<SrvRecord>),
    /// Addresses, in the order to try them (empty for NXDOMAIN / no data).
    Addresses(Vec<IpAddr>),
    /// The lookup failed (timeout, SERVFAIL, …). It counts as "no records" so
    /// the procedure goes on to the next step, and the reason is reported if
    /// nothing at all is found.
    Failed(String),
}

/// Identifies a query of the current step; stale ids are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueryId {
    stage: u32,
    index: usize,
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Perform these lookups and [`Planner::answer`] each, then `step` again.
    Lookup(Vec<(QueryId, Query)>),
    /// Resolution is over: the targets in failover order, or why there are none.
    Done(Result<Vec<Target>, ResolveError>),
}

/// An SRV owner name still to be looked up, with what its records carry.
#[derive(Debug, Clone)]
struct SrvSlot {
    name: String,
    transport: Transport,
    answer: Option<Answer>,
}

/// A host whose addresses are still to be looked up.
#[derive(Debug, Clone)]
struct AddrSlot {
    name: String,
    port: u16,
    transport: Transport,
    answer: Option<Answer>,
}

#[derive(Debug, Clone)]
enum Stage {
    Start,
    Naptr {
        name: String,
        answer: Option<Answer>,
    },
    Srv {
        slots: Vec<SrvSlot>,
        /// Transport for the A/AAAA fallback when no SRV record exists.
        fallback: Transport,
    },
    Addr {
        slots: Vec<AddrSlot>,
    },
    Finished,
}

/// Where a stage transition leads.
enum Next {
    Stage(Stage),
    Done(Result<Vec<Target>, ResolveError>),
}

impl From<Result<Stage, ResolveError>> for Next {
    fn from(r: Result<Stage, ResolveError>) -> Self {
        match r {
            Ok(stage) => Next::Stage(stage),
            Err(e) => Next::Done(Err(e)),
        }
    }
}

/// The RFC 3263 state machine for one URI. See the module documentation.
#[derive(Debug, Clone)]
pub struct Planner {
    request: Request,
    /// The host with IPv6 brackets and a trailing dot removed.
    host: String,
    supported: Vec<Transport>,
    stage: Stage,
    /// Bumped on every stage change so answers to old queries are ignored.
    generation: u32,
    /// First DNS failure met, reported if nothing is found.
    failure: Option<String>,
}

impl Planner {
    /// Plans the resolution of `request` for a client that runs the
    /// transports in `supported` (in its order of preference).
    pub fn new(request: Request, supported: &[Transport]) -> Self {
        let host = normalize_host(&request.host);
        let mut uniq = Vec::with_capacity(supported.len());
        for &t in supported {
            if !uniq.contains(&t) {
                uniq.push(t);
            }
        }
        Self {
            request,
            host,
            supported: uniq,
            stage: Stage::Start,
            generation: 0,
            failure: None,
        }
    }

    /// Records the result of a query returned by the last [`Planner::step`].
    /// Returns false (and changes nothing) for an id that is not current or
    /// an answer of the wrong kind for it.
    pub fn answer(&mut self, id: QueryId, answer: Answer) -> bool {
        if id.stage != self.generation {
            return false;
        }
        let fits = matches!(
            (&self.stage, &answer),
            (_, Answer::Failed(_))
                | (Stage::Naptr { .. }, Answer::Naptr(_))
                | (Stage::Srv { .. }, Answer::Srv(_))
                | (Stage::Addr { .. }, Answer::Addresses(_))
        );
        if !fits {
            return false;
        }
        let slot = match &mut self.stage {
            Stage::Naptr { answer: slot, .. } if id.index == 0 => slot,
            Stage::Srv { slots, .. } => match slots.get_mut(id.index) {
                Some(s) => &mut s.answer,
                None => return false,
            },
            Stage::Addr { slots } => match slots.get_mut(id.index) {
                Some(s) => &mut s.answer,
                None => return false,
            },
            _ => return false,
        };
        if let Answer::Failed(reason) = &answer {
            if self.failure.is_none() {
                self.failure = Some(reason.clone());
            }
        }
        *slot = Some(answer);
        true
    }

    /// Advances as far as the answers so far allow. `rng(bound)` returns a
    /// uniform number in `0..=bound`; it orders SRV records (RFC 2782).
    ///
    /// While some query of the current step is unanswered, returns those
    /// queries again. Once it has returned [`Step::Done`] the planner is spent
    /// (a further call reports "not found").
    pub fn step(&mut self, rng: &mut impl FnMut(u32) -> u32) -> Step {
        loop {
            let stage = std::mem::replace(&mut self.stage, Stage::Finished);
            let next = match stage {
                Stage::Start => self.start(),
                Stage::Naptr {
                    answer: Some(answer),
                    ..
                } => self.after_naptr(answer).into(),
                Stage::Srv { slots, fallback } if slots.iter().all(|s| s.answer.is_some()) => {
                    self.after_srv(slots, fallback, rng).into()
                }
                Stage::Addr { slots } if slots.iter().all(|s| s.answer.is_some()) => {
                    Next::Done(self.after_addr(slots))
                }
                Stage::Finished => Next::Done(Err(ResolveError::NotFound {
                    host: self.request.host.clone(),
                })),
                waiting => {
                    // Some answers are missing: ask for them again.
                    self.stage = waiting;
                    return Step::Lookup(self.pending());
                }
            };
            match next {
                Next::Stage(stage) => {
                    self.stage = stage;
                    self.generation = self.generation.wrapping_add(1);
                    let pending = self.pending();
                    if !pending.is_empty() {
                        return Step::Lookup(pending);
                    }
                    // Every stage has something to ask today; if one did not,
                    // looping advances it.
                }
                Next::Done(result) => return Step::Done(result),
            }
        }
    }

    /// The unanswered queries of the current stage.
    fn pending(&self) -> Vec<(QueryId, Query)> {
        let id = |index| QueryId {
            stage: self.generation,
            index,
        };
        match &self.stage {
            Stage::Naptr { name, answer: None } => {
                vec![(id(0), Query::Naptr { name: name.clone() })]
            }
            Stage::Srv { slots, .. } => slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.answer.is_none())
                .map(|(i, s)| {
                    (
                        id(i),
                        Query::Srv {
                            name: s.name.clone(),
                        },
                    )
                })
                .collect(),
            Stage::Addr { slots } => slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.answer.is_none())
                .map(|(i, s)| {
                    (
                        id(i),
                        Query::Address {
                            name: s.name.clone(),
                        },
                    )
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// RFC 3263 §4.1/§4.2: the first step depends on what the URI says.
    fn start(&mut self) -> Next {
        let scheme = self.request.scheme;
        if self.host.is_empty() {
            return Next::Done(Err(ResolveError::InvalidHost(self.request.host.clone())));
        }
        let transport = match self.request.transport {
            Some(t) => {
                let t = t.under(scheme).filter(|t| self.supported.contains(t));
                match t {
                    Some(t) => Some(t),
                    None => {
                        return Next::Done(Err(ResolveError::UnsupportedTransport {
                            scheme,
                            transport: self.request.transport,
                        }))
                    }
                }
            }
            None => None,
        };
        // Nothing we run can carry this scheme (a `sips` URI without TLS or
        // WSS): say so before asking DNS anything.
        if !self.supported.iter().any(|&t| t.under(scheme) == Some(t)) {
            return Next::Done(Err(ResolveError::NoUsableTransport(scheme)));
        }
        // Numeric IP: no DNS at all (§4.1 "If the URI specifies ... a numeric
        // IP address", §4.2 "If TARGET is a numeric IP address, the client
        // uses that address").
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            let t = match transport {
                Some(t) => t,
                None => match self.default_transport() {
                    Some(t) => t,
                    None => return Next::Done(Err(ResolveError::NoUsableTransport(scheme))),
                },
            };
            let port = self.request.port.unwrap_or_else(|| t.default_port());
            return Next::Done(Ok(vec![Target {
                transport: t,
                addr: SocketAddr::new(ip, port),
                host: self.request.host.clone(),
            }]));
        }
        if !valid_domain(&self.host) {
            return Next::Done(Err(ResolveError::InvalidHost(self.request.host.clone())));
        }
        // Explicit port: A/AAAA only (§4.2 "If the TARGET was not a numeric IP
        // address, but a port is present in the URI, the client performs an
        // A or AAAA record lookup").
        if let Some(port) = self.request.port {
            let t = match transport.or_else(|| self.default_transport()) {
                Some(t) => t,
                None => return Next::Done(Err(ResolveError::NoUsableTransport(scheme))),
            };
            return Next::Stage(Stage::Addr {
                slots: vec![AddrSlot {
                    name: self.host.clone(),
                    port,
                    transport: t,
                    answer: None,
                }],
            });
        }
        // Transport given, no port: SRV for that transport (§4.2 "If no port
        // is present ... the client performs an SRV query on the record
        // returned from the NAPTR processing ... or constructs one").
        if let Some(t) = transport {
            return Next::Stage(Stage::Srv {
                slots: vec![SrvSlot {
                    name: srv_name(t, &self.host),
                    transport: t,
                    answer: None,
                }],
                fallback: t,
            });
        }
        Next::Stage(Stage::Naptr {
            name: self.host.clone(),
            answer: None,
        })
    }

    /// RFC 3263 §4.1: the transport when nothing names one — UDP for `sip`,
    /// TLS (over TCP) for `sips`; TCP for `sip` if we do not run UDP (the RFC
    /// allows another transport when SIP's rules call for it).
    fn default_transport(&self) -> Option<Transport> {
        let candidates: &[Transport] = match self.request.scheme {
            Scheme::Sip => &[Transport::Udp, Transport::Tcp],
            Scheme::Sips => &[Transport::Tls],
        };
        candidates
            .iter()
            .copied()
            .find(|t| self.supported.contains(t))
    }

    /// RFC 3263 §4.1: turn the NAPTR answer into SRV lookups.
    fn after_naptr(&mut self, answer: Answer) -> Result<Stage, ResolveError> {
        let records = match answer {
            Answer::Naptr(records) => records,
            _ => Vec::new(),
        };
        let slots = select_naptr(&records, self.request.scheme, &self.supported)
            .into_iter()
            .map(|(name, transport)| SrvSlot {
                name,
                transport,
                answer: None,
            })
            .collect::<Vec<_>>();
        if let Some(first) = slots.first() {
            let fallback = first.transport;
            return Ok(Stage::Srv { slots, fallback });
        }
        // "If no NAPTR records are found, the client constructs SRV queries
        // for those transport protocols it supports, and does a query for
        // each. Queries are done using the service identifier "_sip" for SIP
        // URIs and "_sips" for SIPS URIs."
        let scheme = self.request.scheme;
        let slots: Vec<SrvSlot> = self
            .supported
            .iter()
            .filter(|t| match scheme {
                Scheme::Sip => !t.is_secure(),
                Scheme::Sips => t.is_secure(),
            })
            .map(|&t| SrvSlot {
                name: srv_name(t, &self.host),
                transport: t,
                answer: None,
            })
            .collect();
        let fallback = self
            .default_transport()
            .ok_or(ResolveError::NoUsableTransport(scheme))?;
        if slots.is_empty() {
            return Ok(self.host_fallback(fallback));
        }
        Ok(Stage::Srv { slots, fallback })
    }

    /// RFC 3263 §4.2 / RFC 2782: order each SRV RRset and look up its targets.
    fn after_srv(
        &mut self,
        slots: Vec<SrvSlot>,
        fallback: Transport,
        rng: &mut impl FnMut(u32) -> u32,
    ) -> Result<Stage, ResolveError> {
        let mut addr_slots: Vec<AddrSlot> = Vec::new();
        let mut seen = HashSet::new();
        for slot in slots {
            let Some(Answer::Srv(records)) = slot.answer else {
                continue;
            };
            for record in order_srv(&records, rng) {
                let name = normalize_host(&record.target);
                if seen.insert((name.clone(), record.port, slot.transport)) {
                    addr_slots.push(AddrSlot {
                        name,
                        port: record.port,
                        transport: slot.transport,
                        answer: None,
                    });
                }
            }
        }
        if addr_slots.is_empty() {
            // "If no SRV records were found, the client performs an A or AAAA
            // record lookup of the domain name" with the default port (§4.2).
            return Ok(self.host_fallback(fallback));
        }
        Ok(Stage::Addr { slots: addr_slots })
    }

    fn host_fallback(&self, transport: Transport) -> Stage {
        Stage::Addr {
            slots: vec![AddrSlot {
                name: self.host.clone(),
                port: transport.default_port(),
                transport,
                answer: None,
            }],
        }
    }

    /// The addresses, in slot order, become the targets.
    fn after_addr(&mut self, slots: Vec<AddrSlot>) -> Result<Vec<Target>, ResolveError> {
        let mut targets = Vec::new();
        let mut seen = HashSet::new();
        for slot in slots {
            let Some(Answer::Addresses(ips)) = slot.answer else {
                continue;
            };
            for ip in ips {
                let addr = SocketAddr::new(ip, slot.port);
                if seen.insert((slot.transport, addr)) {
                    targets.push(Target {
                        transport: slot.transport,
                        addr,
                        host: self.request.host.clone(),
                    });
                }
            }
        }
        if targets.is_empty() {
            let host = self.request.host.clone();
            return Err(match self.failure.take() {
                Some(reason) => ResolveError::Dns { host, reason },
                None => ResolveError::NotFound { host },
            });
        }
        Ok(targets)
    }
}

/// RFC 3263 §4.1: the usable NAPTR records, best first, as (SRV owner name,
/// transport) pairs.
///
/// A record is usable when its flags are `S` (its replacement names an SRV
/// RRset), its service is a SIP one for a transport in `supported`, and —
/// for a `sips` URI — that transport is TLS-based ("A client resolving a SIPS
/// URI MUST discard any services that do not contain "SIPS""). A `sip` URI
/// keeps `SIPS+D2T` when we run TLS ("The converse is not true"). Records are
/// sorted by order then preference (RFC 3403 §4.1); all are kept so that the
/// later ones serve as failover.
pub fn select_naptr(
    records: &[NaptrRecord],
    scheme: Scheme,
    supported: &[Transport],
) -> Vec<(String, Transport)> {
    let mut usable: Vec<(&NaptrRecord, Transport)> = records
        .iter()
        .filter(|r| r.flags.eq_ignore_ascii_case("s"))
        .filter_map(|r| Transport::from_naptr_service(&r.services).map(|t| (r, t)))
        .filter(|(_, t)| scheme == Scheme::Sip || t.is_secure())
        .filter(|(_, t)| supported.contains(t))
        .filter(|(r, _)| {
            let n = normalize_host(&r.replacement);
            !n.is_empty() && n != "."
        })
        .collect();
    usable.sort_by_key(|(r, _)| (r.order, r.preference));
    let mut out: Vec<(String, Transport)> = Vec::with_capacity(usable.len());
    for (r, t) in usable {
        let entry = (normalize_host(&r.replacement), t);
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    out
}

/// The SRV owner name for a transport at a domain (`_sip._udp.example.com`).
pub fn srv_name(transport: Transport, domain: &str) -> String {
    format!("{}.{}", transport.srv_prefix(), domain)
}

/// Strips IPv6 brackets and a trailing root dot; DNS names compare without them.
fn normalize_host(host: &str) -> String {
    let h = host.trim();
    let h = h
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(h);
    let h = if h.len() > 1 {
        h.strip_suffix('.').unwrap_or(h)
    } else {
        h
    };
    h.to_string()
}

/// A syntactically plausible domain name (RFC 1035 §2.3.4 lengths; letters,
/// digits, `-`, `_`): anything else would only be refused by DNS later.
fn valid_domain(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}
