//! The server side: challenges (401 `WWW-Authenticate`) and verification of
//! `Authorization` (spec §7).

use std::fmt;
use std::net::IpAddr;

use sip_message::text::quote;
use sip_message::uri::Uri;
use subtle::ConstantTimeEq;

use crate::hash::{self, Hex, Qop};
use crate::nonce::{self, NonceState};
use crate::{Algorithm, Auth, AuthValue};

/// How the `uri` parameter of the credentials is compared with the Request-URI.
///
/// RFC 2617 §3.2.2.5 and RFC 7616 §3.4.6 say the server SHOULD check that the two name
/// the same resource, because the response only proves knowledge of the password for
/// the `uri` it was computed over: without the check, credentials captured on the wire
/// could be replayed, from the same address within the nonce lifetime, on a request to
/// another target. pjproject (so Asterisk) does not check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UriCheck {
    /// Same scheme, user, host (case-insensitive) and port; parameters and headers are
    /// ignored, because phones differ in whether they copy `;transport=` or other
    /// parameters into the digest `uri`, and a parameter does not change the target.
    /// Non-SIP URIs compare by their own equality rules.
    #[default]
    SameResource,
    /// No check, as Asterisk: for a peer that puts something else in `uri`.
    Off,
}

/// Why credentials were not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The scheme is not Digest.
    NotDigest,
    /// A required parameter is absent (its name).
    Missing(&'static str),
    /// `realm` is not the auth's realm.
    RealmMismatch,
    /// `username` is not the auth's user name.
    UsernameMismatch,
    /// `algorithm` is unknown or not in the auth's `supported_algorithms_uas`.
    UnsupportedAlgorithm,
    /// `qop` is something other than `auth`.
    UnsupportedQop,
    /// `nc` is not 8 hex digits.
    BadNonceCount,
    /// `uri` does not name the Request-URI ([`UriCheck`]).
    UriMismatch,
    /// The nonce is not one we issued for this source address and realm.
    BadNonce,
    /// Neither a password nor a digest for the algorithm is configured.
    NoSecret(Algorithm),
    /// The response is not the expected one: wrong password (or tampered parameters).
    WrongResponse,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::NotDigest => f.write_str("not a Digest authorization"),
            Failure::Missing(p) => write!(f, "parameter '{p}' is missing"),
            Failure::RealmMismatch => f.write_str("realm does not match"),
            Failure::UsernameMismatch => f.write_str("username does not match"),
            Failure::UnsupportedAlgorithm => f.write_str("algorithm not supported"),
            Failure::UnsupportedQop => f.write_str("qop not supported"),
            Failure::BadNonceCount => f.write_str("nc is not 8 hex digits"),
            Failure::UriMismatch => f.write_str("uri does not match the Request-URI"),
            Failure::BadNonce => f.write_str("nonce was not issued by us for this address"),
            Failure::NoSecret(a) => write!(f, "no password or {a} digest configured"),
            Failure::WrongResponse => f.write_str("wrong response (password)"),
        }
    }
}

/// The verdict on one `Authorization` against one auth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Right credentials on a fresh nonce.
    Ok,
    /// Right credentials on a nonce of ours that has expired: answer 401 with
    /// `stale=true`, so the client retries without asking its user.
    Stale,
    /// Anything else: answer a fresh 401 (never 403, spec §7).
    Wrong(Failure),
}

/// The verdict on a request against all the auths of its endpoint (spec §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The auth at this index of the list accepted the credentials.
    Authenticated(usize),
    /// Some auth recognised the credentials on an expired nonce: 401 `stale=true`.
    Stale,
    /// Credentials were sent for some auth's realm and none accepted them: 401 again
    /// (Asterisk logs "Failed to authenticate"). The first failure, for the log.
    Failed(Failure),
    /// No Digest credentials for the realm of any auth: 401 (a first challenge).
    Missing,
}

/// The request being authenticated, as the transport saw it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The method (`REGISTER`, `INVITE`…), as in the request line.
    pub method: &'a str,
    /// The Request-URI, as in the request line.
    pub uri: &'a str,
    /// The source IP address (the port is not used).
    pub source: IpAddr,
    /// Now, in UNIX seconds.
    pub now: u64,
}

/// Issues stateless nonces and verifies credentials. One per process (or one per
/// cluster, sharing a key); cheap to share behind an `Arc`, holds no per-client state.
#[derive(Clone)]
pub struct DigestServer {
    key: [u8; 32],
    opaque: String,
    uri_check: UriCheck,
}

impl fmt::Debug for DigestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is a secret: never in logs.
        f.debug_struct("DigestServer")
            .field("uri_check", &self.uri_check)
            .finish_non_exhaustive()
    }
}

impl DigestServer {
    /// A server with a fresh random key from the operating system: nonces of a previous
    /// run are no longer recognised, like Asterisk's per-load UUID.
    pub fn new() -> Result<DigestServer, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key)?;
        Ok(DigestServer::with_key(key))
    }

    /// A server with a given key: for tests, and for nodes that must recognise each
    /// other's nonces (one shared secret from configuration).
    pub fn with_key(key: [u8; 32]) -> DigestServer {
        // The opaque is not verified (neither Asterisk nor RFC 7616 gives it a meaning
        // on the server); deriving it from the key keeps it stable and costs nothing
        // per challenge, where pjproject draws a random one each time.
        let tag = nonce::mac(&key, 0, IpAddr::from([0, 0, 0, 0]), "opaque");
        let opaque = Hex::encode(&tag).as_str().to_owned();
        DigestServer {
            key,
            opaque,
            uri_check: UriCheck::default(),
        }
    }

    /// Sets how `uri` is compared with the Request-URI.
    pub fn uri_check(mut self, check: UriCheck) -> DigestServer {
        self.uri_check = check;
        self
    }

    /// The `opaque` sent in every challenge.
    pub fn opaque(&self) -> &str {
        &self.opaque
    }

    /// A nonce for `realm`, issued `now` (UNIX seconds) to `source`.
    pub fn nonce(&self, now: u64, source: IpAddr, realm: &str) -> String {
        nonce::issue(&self.key, now, source, realm)
    }

    /// Whether `nonce` is ours for `source` and `realm`, and fresh within `lifetime`
    /// seconds at `now`.
    pub fn check_nonce(
        &self,
        nonce: &str,
        now: u64,
        lifetime: u32,
        source: IpAddr,
        realm: &str,
    ) -> NonceState {
        nonce::check(&self.key, nonce, now, lifetime, source, realm)
    }

    /// One `WWW-Authenticate` value, in pjproject's parameter order and spacing (the
    /// bytes Asterisk sends, bar pjproject's doubled space after `Digest`):
    /// `Digest realm="…",nonce="…",opaque="…"[,stale=true],algorithm=…,qop="auth"`.
    pub fn challenge(&self, realm: &str, algorithm: Algorithm, nonce: &str, stale: bool) -> String {
        let realm = quote(realm);
        let mut s = String::with_capacity(96 + realm.len() + nonce.len());
        s.push_str("Digest realm=");
        s.push_str(&realm);
        s.push_str(",nonce=\"");
        s.push_str(nonce);
        s.push_str("\",opaque=\"");
        s.push_str(&self.opaque);
        s.push('"');
        if stale {
            s.push_str(",stale=true");
        }
        s.push_str(",algorithm=");
        s.push_str(algorithm.name());
        s.push_str(",qop=\"auth\"");
        s
    }

    /// The `WWW-Authenticate` values of a 401 for an endpoint with these auths: one per
    /// algorithm of each auth in order, an identical realm+algorithm pair sent once
    /// (spec §7). One nonce per realm, shared by its algorithms.
    pub fn challenges(
        &self,
        auths: &[Auth<'_>],
        now: u64,
        source: IpAddr,
        stale: bool,
    ) -> Vec<String> {
        let mut seen: Vec<(&str, Algorithm)> = Vec::with_capacity(auths.len() * 2);
        let mut nonces: Vec<(&str, String)> = Vec::with_capacity(auths.len());
        let mut out = Vec::with_capacity(auths.len() * 2);
        for auth in auths {
            for &alg in auth.allowed() {
                if seen.contains(&(auth.realm, alg)) {
                    continue;
                }
                seen.push((auth.realm, alg));
                let nonce = match nonces.iter().find(|(r, _)| *r == auth.realm) {
                    Some((_, n)) => n.clone(),
                    None => {
                        let n = self.nonce(now, source, auth.realm);
                        nonces.push((auth.realm, n.clone()));
                        n
                    }
                };
                out.push(self.challenge(auth.realm, alg, &nonce, stale));
            }
        }
        out
    }

    /// Checks one `Authorization` (or `Proxy-Authorization`) against one auth.
    ///
    /// Order: the parameters (cheap, no hashing), the nonce's MAC, then the response in
    /// constant time; only right credentials learn whether the nonce was merely old
    /// ([`Verdict::Stale`]), so a guesser cannot tell a stale nonce from a bad one.
    pub fn verify(&self, credentials: &AuthValue, auth: &Auth<'_>, req: &Request<'_>) -> Verdict {
        match self.check(credentials, auth, req) {
            Ok(state) => match state {
                NonceState::Fresh => Verdict::Ok,
                NonceState::Stale => Verdict::Stale,
                NonceState::Invalid => Verdict::Wrong(Failure::BadNonce),
            },
            Err(f) => Verdict::Wrong(f),
        }
    }

    fn check(
        &self,
        credentials: &AuthValue,
        auth: &Auth<'_>,
        req: &Request<'_>,
    ) -> Result<NonceState, Failure> {
        if !credentials.is_digest() {
            return Err(Failure::NotDigest);
        }
        let realm = credentials.realm().ok_or(Failure::Missing("realm"))?;
        if *realm != *auth.realm {
            return Err(Failure::RealmMismatch);
        }
        let username = credentials.username().ok_or(Failure::Missing("username"))?;
        if *username != *auth.username {
            return Err(Failure::UsernameMismatch);
        }
        let nonce = credentials.nonce().ok_or(Failure::Missing("nonce"))?;
        let uri = credentials.uri().ok_or(Failure::Missing("uri"))?;
        let response = credentials.response().ok_or(Failure::Missing("response"))?;
        let algorithm = match credentials.algorithm() {
            None => Algorithm::Md5,
            Some(a) => Algorithm::from_name(&a).ok_or(Failure::UnsupportedAlgorithm)?,
        };
        if !auth.allows(algorithm) {
            return Err(Failure::UnsupportedAlgorithm);
        }
        let qop = match credentials.qop() {
            None => None,
            Some(q) if q.eq_ignore_ascii_case("auth") => {
                let nc = credentials.param_raw("nc").ok_or(Failure::Missing("nc"))?;
                if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(Failure::BadNonceCount);
                }
                let cnonce = credentials.cnonce().ok_or(Failure::Missing("cnonce"))?;
                Some((nc, cnonce))
            }
            Some(_) => return Err(Failure::UnsupportedQop),
        };
        if self.uri_check == UriCheck::SameResource && !same_resource(&uri, req.uri) {
            return Err(Failure::UriMismatch);
        }
        let state = self.check_nonce(&nonce, req.now, auth.nonce_lifetime, req.source, auth.realm);
        if state == NonceState::Invalid {
            return Err(Failure::BadNonce);
        }
        let ha1 = auth
            .ha1(algorithm, auth.realm)
            .ok_or(Failure::NoSecret(algorithm))?;
        let expected = hash::response(
            algorithm,
            &ha1,
            &nonce,
            qop.as_ref().map(|(nc, cnonce)| Qop { nc, cnonce }),
            req.method,
            &uri,
        );
        // A response of the wrong length or not hex cannot match; the length of the
        // expected value is public (it follows from the algorithm).
        let given =
            Hex::lowered(response.as_bytes(), algorithm.hex_len()).ok_or(Failure::WrongResponse)?;
        if ct_eq(given.as_bytes(), expected.as_bytes()) {
            Ok(state)
        } else {
            Err(Failure::WrongResponse)
        }
    }

    /// Checks a request's credentials against the auths of its endpoint, in order, as
    /// Asterisk does: for each auth, the first Digest header whose realm is the auth's
    /// realm is verified; the first success wins. `credentials` are the request's
    /// `Authorization` values (those that failed to parse are simply left out).
    pub fn verify_request(
        &self,
        credentials: &[AuthValue],
        auths: &[Auth<'_>],
        req: &Request<'_>,
    ) -> Outcome {
        let mut stale = false;
        let mut failure = None;
        for (i, auth) in auths.iter().enumerate() {
            let Some(header) = credentials
                .iter()
                .find(|c| c.is_digest() && c.realm().is_some_and(|r| *r == *auth.realm))
            else {
                continue;
            };
            match self.verify(header, auth, req) {
                Verdict::Ok => return Outcome::Authenticated(i),
                Verdict::Stale => stale = true,
                Verdict::Wrong(f) => {
                    failure.get_or_insert(f);
                }
            }
        }
        match (stale, failure) {
            (true, _) => Outcome::Stale,
            (false, Some(f)) => Outcome::Failed(f),
            (false, None) => Outcome::Missing,
        }
    }
}

#[cfg(test)]
thread_local! {
    static CT_COMPARES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many constant-time comparisons this thread made (tests check the path is used).
#[cfg(test)]
pub(crate) fn ct_compares() -> usize {
    CT_COMPARES.with(|c| c.get()) + crate::nonce::ct_compares()
}

/// Compares two hex strings in time independent of where they differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    #[cfg(test)]
    CT_COMPARES.with(|c| c.set(c.get() + 1));
    bool::from(a.ct_eq(b))
}

/// [`UriCheck::SameResource`]: scheme, user, host and port for SIP/SIPS URIs, the
/// URI's own equality otherwise, exact text when either does not parse.
fn same_resource(digest_uri: &str, request_uri: &str) -> bool {
    if digest_uri == request_uri {
        return true;
    }
    let (Ok(a), Ok(b)) = (Uri::parse(digest_uri), Uri::parse(request_uri)) else {
        return false;
    };
    match (a.as_sip(), b.as_sip()) {
        (Some(a), Some(b)) => {
            a.scheme().eq_ignore_ascii_case(b.scheme())
                && a.user_decoded() == b.user_decoded()
                && a.host().eq_ignore_ascii_case(b.host())
                && a.port() == b.port()
        }
        _ => a == b,
    }
}
