//! The client side of digest authentication: a request of ours that was challenged
//! (401 or 407), sent again with credentials from `outbound_auth` objects (spec §9,
//! used by qualify, outbound registration and, later, calls). Sans-IO: the caller
//! sends what comes back.
//!
//! Rules:
//! * A 401 is answered with `Authorization` for each `WWW-Authenticate`, a 407 with
//!   `Proxy-Authorization` for each `Proxy-Authenticate`. Per challenge the first auth
//!   object that can answer it is used, in configured order: one for that realm, or one
//!   with no realm (or `*`), which answers any.
//! * Several challenges (one per algorithm) for the same realm get one answer: the
//!   auth's preferred algorithm among those offered (`supported_algorithms_uac`, else
//!   the global `default_auth_algorithms_uac`).
//! * Never a loop: a challenge for a nonce the request already answered (and not marked
//!   `stale=true`) means the credentials were refused, and the caller gives up. So one
//!   retry per challenge, as Asterisk does.
//! * The resent request has the next CSeq and the same Call-ID and tags; the caller's
//!   endpoint gives it a new Via branch (a new transaction).

use std::fmt;
use std::sync::Arc;

use sip_digest::{authorization, choose_challenge, Algorithm, AuthValue};
use sip_message::{HeaderKind, Message};
use sorcery::types::auth::Auth as AuthObject;

use crate::auth::{algorithms, auth_in_realm};

/// Why a challenge is not answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoAnswer {
    /// Not a 401 or 407, or a 401/407 without a challenge.
    NotAChallenge,
    /// No `outbound_auth` can answer this realm (or its algorithms).
    NoCredentials(String),
    /// The request already answered this nonce: the credentials were refused.
    Refused(String),
    /// The challenge or the request could not be read or rebuilt.
    Malformed(String),
}

impl fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoAnswer::NotAChallenge => f.write_str("not a 401/407 challenge"),
            NoAnswer::NoCredentials(realm) => {
                write!(f, "no outbound_auth answers realm '{realm}'")
            }
            NoAnswer::Refused(realm) => {
                write!(f, "credentials for realm '{realm}' were refused")
            }
            NoAnswer::Malformed(why) => write!(f, "cannot answer the challenge: {why}"),
        }
    }
}

impl std::error::Error for NoAnswer {}

/// The request to send after `response` challenged `sent` (which carried no Via, or
/// whose Via the endpoint replaces), answered with `auths` (the endpoint's or the
/// registration's `outbound_auth`, in order); `default_algorithms` is the global
/// `default_auth_algorithms_uac` (empty: MD5). `cnonce` is a fresh random string; the
/// nonce count starts at 1 (each new challenge brings a new nonce).
pub fn answer_challenge(
    sent: &Message,
    response: &Message,
    auths: &[Arc<AuthObject>],
    default_algorithms: &[Algorithm],
    cnonce: &str,
) -> Result<Message, NoAnswer> {
    let (challenges, header) = match response.status() {
        Some(401) => (response.www_authenticate(), HeaderKind::Authorization),
        Some(407) => (
            response.proxy_authenticate(),
            HeaderKind::ProxyAuthorization,
        ),
        _ => return Err(NoAnswer::NotAChallenge),
    };
    let challenges = challenges.map_err(|e| NoAnswer::Malformed(e.to_string()))?;
    let challenges: Vec<AuthValue> = challenges.into_iter().filter(|c| c.is_digest()).collect();
    if challenges.is_empty() {
        return Err(NoAnswer::NotAChallenge);
    }
    let answered = if header == HeaderKind::Authorization {
        sent.authorization()
    } else {
        sent.proxy_authorization()
    }
    .map(|c| c.to_vec())
    .unwrap_or_default();
    let method = sent
        .method()
        .ok_or_else(|| NoAnswer::Malformed("not a request".into()))?
        .as_str()
        .to_owned();
    let uri = sent
        .request_uri()
        .ok_or_else(|| NoAnswer::Malformed("no Request-URI".into()))?
        .as_str()
        .to_owned();
    let algs: Vec<Vec<Algorithm>> = auths
        .iter()
        .map(|a| {
            let own = algorithms(&a.supported_algorithms_uac);
            if own.is_empty() {
                default_algorithms.to_vec()
            } else {
                own
            }
        })
        .collect();

    // One answer per realm, in the order the realms were first challenged.
    let mut realms: Vec<String> = Vec::new();
    for c in &challenges {
        if let Some(r) = c.realm() {
            if !realms.iter().any(|x| *x == *r) {
                realms.push(r.into_owned());
            }
        }
    }
    let mut values = Vec::with_capacity(realms.len());
    for realm in &realms {
        let offered: Vec<AuthValue> = challenges
            .iter()
            .filter(|c| c.realm().is_some_and(|r| r == realm.as_str()))
            .cloned()
            .collect();
        for c in &offered {
            let nonce = c.nonce().unwrap_or_default();
            let seen = answered.iter().any(|a| {
                a.realm().is_some_and(|r| r == realm.as_str())
                    && a.param("nonce").is_some_and(|n| n == nonce)
            });
            if seen && !c.stale() {
                return Err(NoAnswer::Refused(realm.clone()));
            }
        }
        let value = auths.iter().zip(&algs).find_map(|(a, algs)| {
            let auth = auth_in_realm(a, &a.realm, algs);
            let challenge = choose_challenge(&offered, &auth)?;
            authorization(challenge, &auth, &method, &uri, cnonce, 1).ok()
        });
        match value {
            Some(v) => values.push(v),
            None => return Err(NoAnswer::NoCredentials(realm.clone())),
        }
    }

    let mut next = sent.clone();
    let cseq = sent
        .cseq()
        .map_err(|e| NoAnswer::Malformed(format!("CSeq: {e}")))?;
    let next_cseq = format!("{} {}", cseq.seq.wrapping_add(1), cseq.method.as_str());
    let fail = |e: sip_message::HeaderError| NoAnswer::Malformed(e.to_string());
    next.set_header(HeaderKind::CSeq, &next_cseq)
        .map_err(fail)?;
    next.remove_header(header);
    for v in &values {
        next.push_header(header, v).map_err(fail)?;
    }
    Ok(next)
}
