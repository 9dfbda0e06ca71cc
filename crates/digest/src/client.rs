//! The client side: the `Authorization` (or `Proxy-Authorization`) value answering a
//! challenge, for outbound registration and calls (spec §9).

use std::fmt;

use sip_message::text::quote;

use crate::hash::{self, Qop};
use crate::{Algorithm, Auth, AuthValue};

/// Why a challenge cannot be answered with these credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientError {
    /// The scheme is not Digest.
    NotDigest,
    /// The challenge lacks a required parameter (its name).
    Missing(&'static str),
    /// The algorithm is unknown, a `-sess` variant, or not in the auth's
    /// `supported_algorithms_uac`.
    UnsupportedAlgorithm,
    /// `qop` offers neither `auth` nor nothing (only `auth-int`, say).
    UnsupportedQop,
    /// The auth is for another realm (its realm is neither empty nor `*`).
    RealmMismatch,
    /// Neither a password nor a digest for the algorithm.
    NoSecret(Algorithm),
    /// `qop=auth` needs a client nonce and the caller gave an empty one.
    EmptyCnonce,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::NotDigest => f.write_str("not a Digest challenge"),
            ClientError::Missing(p) => write!(f, "challenge has no '{p}'"),
            ClientError::UnsupportedAlgorithm => f.write_str("algorithm not supported"),
            ClientError::UnsupportedQop => f.write_str("qop offers no 'auth'"),
            ClientError::RealmMismatch => f.write_str("auth is for another realm"),
            ClientError::NoSecret(a) => write!(f, "no password or {a} digest configured"),
            ClientError::EmptyCnonce => f.write_str("empty cnonce"),
        }
    }
}

impl std::error::Error for ClientError {}

fn algorithm_of(challenge: &AuthValue) -> Option<Algorithm> {
    match challenge.algorithm() {
        None => Some(Algorithm::Md5),
        Some(a) => Algorithm::from_name(&a),
    }
}

fn realm_ok(auth: &Auth<'_>, realm: &str) -> bool {
    auth.realm.is_empty() || auth.realm == "*" || auth.realm == realm
}

/// Picks the challenge to answer among those of one response (a server may offer one
/// per algorithm): the first of the auth's allowed algorithms, in their configured
/// order, that some Digest challenge for an acceptable realm offers.
pub fn choose_challenge<'c>(challenges: &'c [AuthValue], auth: &Auth<'_>) -> Option<&'c AuthValue> {
    auth.allowed().iter().find_map(|&alg| {
        challenges.iter().find(|c| {
            c.is_digest()
                && algorithm_of(c) == Some(alg)
                && c.realm().is_some_and(|r| realm_ok(auth, &r))
        })
    })
}

/// The `Authorization` value answering `challenge` for a body-less request `method`
/// to `uri` (the Request-URI as it will be sent). `cnonce` and `nc` (the count of
/// requests sent with this nonce, from 1) are the caller's, so this stays
/// deterministic; they are used only when the challenge offers `qop=auth`.
///
/// Parameters are written in pjproject's order and quoting (`print_digest_credential`
/// in `pjsip/src/pjsip/sip_auth_msg.c` of pjproject), so that servers that accept
/// Asterisk see the same bytes:
/// `Digest username="…", realm="…", nonce="…", uri="…", response="…", algorithm=…,
/// cnonce="…", opaque="…", qop=auth, nc=0000000N`. As pjproject does, `algorithm` is
/// echoed as the challenge spelled it and left out when the challenge had none, and
/// `opaque` is left out when absent or empty.
pub fn authorization(
    challenge: &AuthValue,
    auth: &Auth<'_>,
    method: &str,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> Result<String, ClientError> {
    if !challenge.is_digest() {
        return Err(ClientError::NotDigest);
    }
    let realm = challenge.realm().ok_or(ClientError::Missing("realm"))?;
    let nonce = challenge.nonce().ok_or(ClientError::Missing("nonce"))?;
    let algorithm = algorithm_of(challenge).ok_or(ClientError::UnsupportedAlgorithm)?;
    if !auth.allows(algorithm) {
        return Err(ClientError::UnsupportedAlgorithm);
    }
    if !realm_ok(auth, &realm) {
        return Err(ClientError::RealmMismatch);
    }
    let qop_auth = match challenge.qop() {
        None => false,
        Some(list)
            if list
                .split(',')
                .any(|q| q.trim().eq_ignore_ascii_case("auth")) =>
        {
            true
        }
        Some(_) => return Err(ClientError::UnsupportedQop),
    };
    if qop_auth && cnonce.is_empty() {
        return Err(ClientError::EmptyCnonce);
    }
    let ha1 = auth
        .ha1(algorithm, &realm)
        .ok_or(ClientError::NoSecret(algorithm))?;
    let nc_hex = format!("{nc:08x}");
    let response = hash::response(
        algorithm,
        &ha1,
        &nonce,
        qop_auth.then_some(Qop {
            nc: &nc_hex,
            cnonce,
        }),
        method,
        uri,
    );

    let mut s = String::with_capacity(256);
    s.push_str("Digest username=");
    s.push_str(&quote(auth.username));
    s.push_str(", realm=");
    s.push_str(&quote(&realm));
    s.push_str(", nonce=");
    s.push_str(&quote(&nonce));
    s.push_str(", uri=");
    s.push_str(&quote(uri));
    s.push_str(", response=\"");
    s.push_str(response.as_str());
    s.push('"');
    if let Some(a) = challenge.algorithm() {
        s.push_str(", algorithm=");
        s.push_str(&a);
    }
    if qop_auth {
        s.push_str(", cnonce=");
        s.push_str(&quote(cnonce));
    }
    if let Some(opaque) = challenge.opaque().filter(|o| !o.is_empty()) {
        s.push_str(", opaque=");
        s.push_str(&quote(&opaque));
    }
    if qop_auth {
        s.push_str(", qop=auth, nc=");
        s.push_str(&nc_hex);
    }
    Ok(s)
}
