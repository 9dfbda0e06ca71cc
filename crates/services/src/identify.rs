//! Endpoint identification (spec §8.1–8.3, §8.5): which configured endpoint a request
//! belongs to. Identifiers are registered services tried in
//! `endpoint_identifier_order`; the first that names an endpoint wins.
//!
//! Each identifier works from [`RequestFacts`], owned copies of the few values it
//! reads: messages cache decoded headers without locks (they are `Send`, not `Sync`),
//! and store lookups are asynchronous, so no identifier may hold the message across a
//! lookup. The header identifier, the only one that needs arbitrary headers, parses
//! the raw bytes again after its lookups — the rare, configured-for case pays.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use sip_endpoint::BoxFuture;
use sip_message::Message;
use sorcery::objects::Objects;
use sorcery::types::endpoint::{Endpoint, IdentifyBy};
use sorcery::types::identify::{Identify, MatchTarget};
use sorcery::types::transport::Protocol as TransportProtocol;

use crate::hosts::HostAddresses;

/// The values identification reads from a request, copied out of it.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    /// The From URI's user (cut at `;` when `ignore_uri_user_options`) and host, when
    /// it is a `sip:`/`sips:` URI.
    pub from: Option<(String, String)>,
    /// Every Digest Authorization's username and realm, in order.
    pub auth: Vec<(String, String)>,
    /// The Request-URI as received.
    pub request_uri: String,
    /// The packet's source.
    pub remote: Option<SocketAddr>,
    /// The transport it arrived on (its Via token, `UDP`, `WS`, …) and our address
    /// there: which `type=transport` received it, for that transport's `domain`.
    pub arrival: Option<(&'static str, SocketAddr)>,
    /// The whole message, for the header identifier.
    pub raw: Bytes,
}

impl RequestFacts {
    /// The transport the request arrived on (`transport` is the Via token) and our
    /// address there.
    pub fn arriving_on(mut self, transport: &'static str, local: SocketAddr) -> Self {
        self.arrival = Some((transport, local));
        self
    }

    /// Copies the facts out of `message`.
    pub fn of(message: &Message, remote: SocketAddr, ignore_uri_user_options: bool) -> Self {
        let from = message.from().ok().and_then(|f| {
            let uri = f.uri().as_sip()?;
            let mut user = uri.user().unwrap_or_default();
            if ignore_uri_user_options {
                user = user.split(';').next().unwrap_or_default();
            }
            Some((user.to_owned(), uri.host().to_owned()))
        });
        let auth = message
            .authorization()
            .map(|creds| {
                creds
                    .iter()
                    .filter(|c| c.is_digest())
                    .filter_map(|c| Some((c.username()?.into_owned(), c.realm()?.into_owned())))
                    .collect()
            })
            .unwrap_or_default();
        RequestFacts {
            from,
            auth,
            request_uri: message
                .request_uri()
                .map(|u| u.as_str().to_owned())
                .unwrap_or_default(),
            remote: Some(remote),
            arrival: None,
            raw: message.raw().clone(),
        }
    }
}

/// Settings identification takes from the `global` object.
#[derive(Debug, Clone, Default)]
pub struct IdentifySettings {
    /// `disable_multi_domain`: skip the `user@domain` forms.
    pub disable_multi_domain: bool,
}

/// One way of finding the endpoint.
pub trait Identifier: Send + Sync {
    /// The name used in `endpoint_identifier_order`.
    fn name(&self) -> &str;

    /// The endpoint the request belongs to, if this identifier can tell.
    fn identify<'a>(
        &'a self,
        facts: &'a RequestFacts,
        objects: &'a Objects,
        settings: &'a IdentifySettings,
    ) -> BoxFuture<'a, Option<Arc<Endpoint>>>;
}

/// The identifiers in the order they are tried.
pub struct Identifiers {
    list: Vec<Arc<dyn Identifier>>,
}

impl Identifiers {
    /// Orders `available` by `order` (the global `endpoint_identifier_order`); the
    /// ones it does not name are tried afterwards in their given order (spec §8.1).
    /// Names in `order` that no identifier has are returned for a warning.
    pub fn ordered(
        available: Vec<Arc<dyn Identifier>>,
        order: &[&str],
    ) -> (Identifiers, Vec<String>) {
        let mut rest = available;
        let mut list = Vec::with_capacity(rest.len());
        let mut unknown = Vec::new();
        for name in order {
            match rest.iter().position(|i| i.name() == *name) {
                Some(p) => list.push(rest.remove(p)),
                None if list.iter().any(|i| i.name() == *name) => {}
                None => unknown.push((*name).to_owned()),
            }
        }
        list.extend(rest);
        (Identifiers { list }, unknown)
    }

    /// The built-in identifiers (§8.2–8.5), without DNS: identify host names match
    /// nothing (see [`Identifiers::builtin_with`]).
    pub fn builtin() -> Vec<Arc<dyn Identifier>> {
        Identifiers::builtin_with(Arc::new(HostAddresses::new(None)))
    }

    /// The built-in identifiers, `ip` resolving identify host names through `hosts`.
    pub fn builtin_with(hosts: Arc<HostAddresses>) -> Vec<Arc<dyn Identifier>> {
        vec![
            Arc::new(ByIp::new(hosts)),
            Arc::new(ByUsername),
            Arc::new(Anonymous),
            Arc::new(ByAuthUsername),
            Arc::new(ByHeader),
            Arc::new(ByRequestUri),
        ]
    }

    /// The names, in order (for `pjsip show settings` and logs).
    pub fn names(&self) -> Vec<&str> {
        self.list.iter().map(|i| i.name()).collect()
    }

    /// Tries each identifier in order; the first endpoint found, with the name of the
    /// identifier that found it.
    pub async fn identify(
        &self,
        facts: &RequestFacts,
        objects: &Objects,
        settings: &IdentifySettings,
    ) -> Option<(Arc<Endpoint>, &str)> {
        for identifier in &self.list {
            if let Some(endpoint) = identifier.identify(facts, objects, settings).await {
                return Some((endpoint, identifier.name()));
            }
        }
        None
    }
}

/// Endpoint ids to try for `user` at `domain` (§8.2): `user@domain`, then
/// `user@<canonical domain>` when `domain` is a domain alias, then `user` (the domain
/// forms skipped with `disable_multi_domain`).
async fn candidates(
    user: &str,
    domain: &str,
    facts: &RequestFacts,
    objects: &Objects,
    settings: &IdentifySettings,
) -> Vec<String> {
    let mut ids = Vec::with_capacity(4);
    if !settings.disable_multi_domain && !domain.is_empty() {
        ids.push(format!("{user}@{domain}"));
        if let Ok(Some(alias)) = objects.domain_alias.get(domain).await {
            if !alias.domain.is_empty() && *alias.domain != *domain {
                ids.push(format!("{user}@{}", &*alias.domain));
            }
        }
        if let Some(own) = transport_domain(facts, objects).await {
            let id = format!("{user}@{own}");
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    if !user.is_empty() {
        ids.push(user.to_owned());
    }
    ids
}

/// The `domain` of the `type=transport` the request arrived on, if it has one (§8.2:
/// `user@<receiving transport's domain>` is tried after the From domain and its
/// alias). A transport is the one that received the request when its protocol is the
/// arrival's and its bind address is our address there (a wildcard bind matches any
/// address on its port). WebSocket requests arrive through the HTTP server, not at a
/// transport's bind address: the first `ws`/`wss` transport with a domain is theirs.
async fn transport_domain(facts: &RequestFacts, objects: &Objects) -> Option<String> {
    let (token, local) = facts.arrival?;
    let transports = objects.transport.get_all().await.ok()?;
    transports
        .iter()
        .filter(|t| !t.domain.is_empty() && t.protocol.word().eq_ignore_ascii_case(token))
        .find(|t| {
            matches!(t.protocol, TransportProtocol::Ws | TransportProtocol::Wss)
                || t.bind_addr().is_ok_and(|bind| {
                    bind.port() == local.port()
                        && (bind.ip() == local.ip() || bind.ip().is_unspecified())
                })
        })
        .map(|t| t.domain.to_string())
}

/// The first of `ids` that is an endpoint accepting identification `by`.
async fn first_endpoint(
    ids: &[String],
    objects: &Objects,
    by: Option<IdentifyBy>,
) -> Option<Arc<Endpoint>> {
    for id in ids {
        if let Ok(Some(endpoint)) = objects.endpoint.get(id).await {
            match by {
                Some(by) if !endpoint.settings.identify_by.contains(&by) => {
                    tracing::debug!(
                        "endpoint '{id}' matched but its identify_by does not allow {}",
                        by.word()
                    );
                }
                _ => return Some(endpoint),
            }
        }
    }
    None
}

/// `username`: the From user and domain (§8.2).
pub struct ByUsername;

impl Identifier for ByUsername {
    fn name(&self) -> &str {
        "username"
    }

    fn identify<'a>(
        &'a self,
        facts: &'a RequestFacts,
        objects: &'a Objects,
        settings: &'a IdentifySettings,
    ) -> BoxFuture<'a, Option<Arc<Endpoint>>> {
        Box::pin(async move {
            let (user, host) = facts.from.as_ref()?;
            if user.is_empty() {
                return None;
            }
            let ids = candidates(user, host, facts, objects, settings).await;
            first_endpoint(&ids, objects, Some(IdentifyBy::Username)).await
        })
    }
}

/// `auth_username`: each Digest Authorization's username and realm (§8.2); works
/// only once the client sends credentials.
pub struct ByAuthUsername;

impl Identifier for ByAuthUsername {
    fn name(&self) -> &str {
        "auth_username"
    }

    fn identify<'a>(
        &'a self,
        facts: &'a RequestFacts,
        objects: &'a Objects,
        settings: &'a IdentifySettings,
    ) -> BoxFuture<'a, Option<Arc<Endpoint>>> {
        Box::pin(async move {
            for (user, realm) in &facts.auth {
                if user.is_empty() {
                    continue;
                }
                let ids = candidates(user, realm, facts, objects, settings).await;
                if let Some(e) = first_endpoint(&ids, objects, Some(IdentifyBy::AuthUsername)).await
                {
                    return Some(e);
                }
            }
            None
        })
    }
}

/// `anonymous`: any `sip:`/`sips:` From, as the endpoint `anonymous@<from host>` (or
/// its alias forms), else `anonymous` (§8.5). The endpoint's identify_by is not
/// consulted.
pub struct Anonymous;

impl Identifier for Anonymous {
    fn name(&self) -> &str {
        "anonymous"
    }

    fn identify<'a>(
        &'a self,
        facts: &'a RequestFacts,
        objects: &'a Objects,
        settings: &'a IdentifySettings,
    ) -> BoxFuture<'a, Option<Arc<Endpoint>>> {
        Box::pin(async move {
            let (_, host) = facts.from.as_ref()?;
            let ids = candidates("anonymous", host, facts, objects, settings).await;
            first_endpoint(&ids, objects, None).await
        })
    }
}

/// The identify objects in id order (§8.3: scanned in that order, first match wins).
async fn identifies(objects: &Objects) -> Vec<Arc<Identify>> {
    match objects.identify.get_all().await {
        Ok(mut all) => {
            all.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
            all
        }
        Err(e) => {
            tracing::warn!("identify objects unavailable: {e}");
            Vec::new()
        }
    }
}

/// The endpoint an identify object names (its identify_by is not checked, §8.3).
async fn endpoint_of(identify: &Identify, objects: &Objects) -> Option<Arc<Endpoint>> {
    match objects.endpoint.get(&identify.endpoint).await {
        Ok(Some(e)) => Some(e),
        _ => {
            tracing::warn!(
                "identify '{}' matched but its endpoint '{}' does not exist",
                identify.meta.id,
                &*identify.endpoint
            );
            None
        }
    }
}

/// Whether `remote` matches an identify's `match` list: entries apply in order and
/// the last one that matches decides (`!` entries exclude), as an Asterisk ACL built
/// from them would; an entry with a port matches that port only. A host name matches
/// the addresses `resolved` gives for it (none if it is not there).
pub fn matches_source(
    identify: &Identify,
    remote: SocketAddr,
    resolved: &[(&str, Arc<[IpAddr]>)],
) -> bool {
    let ip = remote.ip().to_canonical();
    let mut matched = false;
    for m in identify.r#match.iter() {
        let hit = match &m.target {
            MatchTarget::Net(net) => net.contains(ip),
            MatchTarget::Host(host) => resolved
                .iter()
                .find(|(name, _)| *name == &**host)
                .is_some_and(|(_, addrs)| addrs.contains(&ip)),
        } && m.port.is_none_or(|p| p == remote.port());
        if hit {
            matched = !m.negate;
        }
    }
    matched
}

/// The addresses of every host name in `identify`'s `match` list; SRV records are
/// used for a name without a port when `srv_lookups=yes` (§8.3).
async fn resolve_hosts<'i>(
    identify: &'i Identify,
    hosts: &HostAddresses,
) -> Vec<(&'i str, Arc<[IpAddr]>)> {
    let mut out = Vec::new();
    for m in identify.r#match.iter() {
        if let MatchTarget::Host(host) = &m.target {
            let srv = identify.srv_lookups && m.port.is_none();
            out.push((&**host, hosts.addresses(host, srv).await));
        }
    }
    out
}

/// `ip`: the source address against the identify objects' `match` (§8.3).
pub struct ByIp {
    hosts: Arc<HostAddresses>,
}

impl ByIp {
    /// Resolving host names through `hosts`.
    pub fn new(hosts: Arc<HostAddresses>) -> ByIp {
        ByIp { hosts }
    }
}

impl Identifier for ByIp {
    fn name(&self) -> &str {
        "ip"
    }

    fn identify<'a>(
        &'a self,
        facts: &'a RequestFacts,
        objects: &'a Objects,
        _: &'a IdentifySettings,
    ) -> BoxFuture<'a, Option<Arc<Endpoint>>> {
        Box::pin(async move {
            let remote = facts.remote?;
            for identify in identifies(objects).await {
                if identify.r#match.is_empty() {
                    continue;
                }
                let resolved = resolve_hosts(&identify, &self.hosts).await;
                if matches_source(&identify, remote, &resolved) {
                    return endpoint_of(&identify, objects).await;
                }
            }
            None
        })
    }
}

/// A `match_header` or `match_request_uri` value: text compared exactly (after
/// trimming) or, between slashes, a regular expression searched for.
fn value_matches(pattern: &str, value: &str) -> bool {
    let pattern = pattern.trim();
    match pattern
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix('/'))
        .filter(|p| !p.is_empty())
    {
        Some(re) => match regex::Regex::new(re) {
            Ok(re) => re.is_match(value),
            Err(e) => {
                tracing::warn!(
                    "identify pattern '{pattern}' is not a valid regular expression: {e}"
                );
                false
            }
        },
        None => value.trim() == pattern,
    }
}

/// `header`: `match_header = Name: value` or `Name: /regex/` against every header of
/// that name (§8.3).
pub struct ByHeader;

impl Identifier for ByHeader {
    fn name(&self) -> &str {
        "header"
    }

    fn identify<'a>(
        &'a self,
        facts: &'a RequestFacts,
        objects: &'a Objects,
        _: &'a IdentifySettings,
    ) -> BoxFuture<'a, Option<Arc<Endpoint>>> {
        Box::pin(async move {
            let candidates: Vec<_> = identifies(objects)
                .await
                .into_iter()
                .filter(|i| !i.match_header.is_empty())
                .collect();
            if candidates.is_empty() {
                return None;
            }
            let found = {
                let message = Message::parse(facts.raw.clone()).ok()?;
                candidates.into_iter().find(|identify| {
                    let Some((name, pattern)) = identify.match_header.split_once(':') else {
                        return false;
                    };
                    message
                        .values(name.trim())
                        .any(|v| std::str::from_utf8(v).is_ok_and(|v| value_matches(pattern, v)))
                })
            };
            let found = found?;
            endpoint_of(&found, objects).await
        })
    }
}

/// `request_uri`: `match_request_uri` against the Request-URI as received (§8.3).
pub struct ByRequestUri;

impl Identifier for ByRequestUri {
    fn name(&self) -> &str {
        "request_uri"
    }

    fn identify<'a>(
        &'a self,
        facts: &'a RequestFacts,
        objects: &'a Objects,
        _: &'a IdentifySettings,
    ) -> BoxFuture<'a, Option<Arc<Endpoint>>> {
        Box::pin(async move {
            for identify in identifies(objects).await {
                if !identify.match_request_uri.is_empty()
                    && value_matches(&identify.match_request_uri, &facts.request_uri)
                {
                    return endpoint_of(&identify, objects).await;
                }
            }
            None
        })
    }
}
