//! HTTP Digest for SIP (RFC 2617, RFC 7616, RFC 8760), sans-IO.
//!
//! Two halves, both plain functions of their inputs (the current time, the source
//! address, a client nonce are arguments; nothing here reads a clock, a socket or a
//! random source except [`DigestServer::new`] drawing its key once):
//!
//! * **Server** ([`DigestServer`]): builds the `WWW-Authenticate` values of a 401
//!   ([`DigestServer::challenges`]) and checks an `Authorization` header against the
//!   credentials of one `type=auth` object ([`DigestServer::verify`]) or of all the
//!   auths of an endpoint in order ([`DigestServer::verify_request`]), telling apart
//!   *right credentials but an old nonce* ([`Verdict::Stale`], answered with
//!   `stale=true`) from *wrong* ([`Verdict::Wrong`]).
//! * **Client** ([`authorization`]): answers a parsed `WWW-Authenticate` or
//!   `Proxy-Authenticate` challenge with the `Authorization` value, written in the
//!   parameter order pjproject (and so Asterisk) writes.
//!
//! # Nonces
//!
//! A nonce is `<unix-seconds>/<mac>`, where `mac` is the first 128 bits, in lower-case
//! hex, of HMAC-SHA-256 keyed with a 256-bit per-process random key over the issue time,
//! the source IP address (not the port) and the realm. Nothing is stored per challenge:
//! the server recomputes the MAC to recognise its own nonce, and reads the age from the
//! clear seconds. A nonce is fresh while `now - secs <= nonce_lifetime` (32 s by
//! default), *stale* afterwards.
//!
//! Asterisk writes `<secs>/<md5hex("<secs>:<ip>:<uuid>:<realm>")>` with a random UUID per
//! module load. The shape is the same (so logs and tools look alike) but the tag is a
//! MAC, which is stronger:
//!
//! * HMAC is a pseudo-random function under standard assumptions about the hash; a
//!   secret simply placed among the hashed fields of a plain MD5 has no such proof, and
//!   MD5's collision weaknesses are exactly the kind of thing that construction leans on.
//! * The fields are encoded without ambiguity (fixed-width time, a family byte before the
//!   address, the realm last), whereas `:`-joined text is ambiguous once an IPv6 address
//!   or a realm contains `:`.
//! * The key has 256 random bits rather than a UUID's 122.
//!
//! Like Asterisk's, the nonce is not bound to a port (a phone behind NAT may answer from
//! another port) and is lost when the process restarts (a client then gets a fresh
//! 401, because the MAC no longer matches, and simply answers it again).
//! Several nodes sharing registrations must share the key ([`DigestServer::with_key`]).
//!
//! # Algorithms
//!
//! MD5, SHA-256 and SHA-512-256 ([`Algorithm`]); the `-sess` variants, `qop=auth-int`,
//! `userhash` and `username*` (RFC 7616 §3.4.4) are not supported, as in Asterisk.

mod client;
mod hash;
mod nonce;
mod server;

pub use client::{authorization, choose_challenge, ClientError};
pub use nonce::NonceState;
pub use server::{DigestServer, Failure, Outcome, Request, UriCheck, Verdict};

use std::fmt;

/// The parsed `WWW-Authenticate`/`Authorization` value of the message crate; this crate
/// reads headers only through it.
pub use sip_message::headers::AuthValue;

/// A digest algorithm (RFC 8760 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// MD5 (RFC 2617), the only algorithm of most phones and Asterisk's default.
    Md5,
    /// SHA-256 (RFC 7616).
    Sha256,
    /// SHA-512/256 (RFC 7616), named `SHA-512-256` on the wire.
    Sha512_256,
}

impl Algorithm {
    /// All algorithms, in the order of the index used by [`Auth::digest`].
    pub const ALL: [Algorithm; 3] = [Algorithm::Md5, Algorithm::Sha256, Algorithm::Sha512_256];

    /// The name written in `algorithm=` (and in `password_digest`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha512_256 => "SHA-512-256",
        }
    }

    /// Reads an `algorithm=` token, case-insensitively (RFC 7616 §3.3 tokens are
    /// case-insensitive; old pjproject writes `md5`). `-sess` variants are not supported
    /// and give `None`.
    pub fn from_name(s: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
    }

    /// Length of a hash in hex digits.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Md5 => 32,
            Algorithm::Sha256 | Algorithm::Sha512_256 => 64,
        }
    }

    fn index(self) -> usize {
        match self {
            Algorithm::Md5 => 0,
            Algorithm::Sha256 => 1,
            Algorithm::Sha512_256 => 2,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The credentials of one `type=auth` object, borrowed from wherever the caller keeps
/// it (the store's `Auth`, a test). This crate does not depend on the store: a protocol
/// core should not pull in its SQL drivers, and the mapping is a few field copies.
///
/// Used both to verify (server) and to answer (client). A secret is either the
/// `password` or, per algorithm, a precomputed `H(username:realm:password)` in hex
/// (`password_digest`, or `md5_cred` for MD5); a digest wins over the password for
/// its algorithm, as a configured digest is the more specific statement.
#[derive(Debug, Clone, Copy)]
pub struct Auth<'a> {
    /// The user name the client must send (server) or sends (client).
    pub username: &'a str,
    /// Server: the realm challenged with (the caller substitutes the global
    /// `default_realm` for an empty one). Client: the realm these credentials answer;
    /// empty or `*` answers any realm.
    pub realm: &'a str,
    /// The password in clear; empty when only digests are configured.
    pub password: &'a str,
    /// Precomputed hex `H(username:realm:password)` per algorithm, indexed as
    /// [`Algorithm::ALL`]; set through [`Auth::digest`].
    pub digests: [Option<&'a str>; 3],
    /// The algorithms allowed (`supported_algorithms_uas` for the server, `_uac` for the
    /// client, with the global default substituted by the caller). Empty means MD5 only,
    /// Asterisk's default.
    pub algorithms: &'a [Algorithm],
    /// Seconds a nonce this server issued stays fresh (server only). Taken as given, as
    /// Asterisk does: 0 means a nonce is good only within the second it was issued.
    pub nonce_lifetime: u32,
}

impl Default for Auth<'_> {
    /// Empty credentials, MD5 only, the 32 s nonce lifetime of Asterisk's default.
    fn default() -> Self {
        Auth {
            username: "",
            realm: "",
            password: "",
            digests: [None; 3],
            algorithms: &[],
            nonce_lifetime: 32,
        }
    }
}

impl<'a> Auth<'a> {
    /// Credentials with a user name and realm, no secret yet, MD5 only, 32 s nonces.
    pub fn new(username: &'a str, realm: &'a str) -> Auth<'a> {
        Auth {
            username,
            realm,
            ..Auth::default()
        }
    }

    /// Sets the password (`auth_type=userpass`).
    pub fn password(mut self, password: &'a str) -> Auth<'a> {
        self.password = password;
        self
    }

    /// Sets the precomputed digest for one algorithm (`password_digest=ALG:hex`).
    pub fn digest(mut self, algorithm: Algorithm, hex: &'a str) -> Auth<'a> {
        self.digests[algorithm.index()] = Some(hex);
        self
    }

    /// Sets the legacy `md5_cred` (`auth_type=md5`): the MD5 digest.
    pub fn md5_cred(self, hex: &'a str) -> Auth<'a> {
        self.digest(Algorithm::Md5, hex)
    }

    /// Sets the allowed algorithms, in preference order.
    pub fn algorithms(mut self, algorithms: &'a [Algorithm]) -> Auth<'a> {
        self.algorithms = algorithms;
        self
    }

    /// Sets the nonce lifetime in seconds.
    pub fn nonce_lifetime(mut self, secs: u32) -> Auth<'a> {
        self.nonce_lifetime = secs;
        self
    }

    /// The allowed algorithms, MD5 when none is configured.
    pub fn allowed(&self) -> &'a [Algorithm] {
        if self.algorithms.is_empty() {
            &[Algorithm::Md5]
        } else {
            self.algorithms
        }
    }

    /// Whether `algorithm` is allowed.
    pub fn allows(&self, algorithm: Algorithm) -> bool {
        self.allowed().contains(&algorithm)
    }

    /// `H(username:realm:password)` for `algorithm`, in lower-case hex, from the digest
    /// if one is configured, else from the password; `None` without either.
    pub(crate) fn ha1(&self, algorithm: Algorithm, realm: &str) -> Option<hash::Hex> {
        if let Some(hex) = self.digests[algorithm.index()] {
            return hash::Hex::from_hex(hex, algorithm);
        }
        if self.password.is_empty() {
            return None;
        }
        Some(hash::ha1(algorithm, self.username, realm, self.password))
    }
}

/// `H(username:realm:password)` in lower-case hex: the value of a `password_digest`
/// (`ALG:hex`) or `md5_cred` line, so a deployment can avoid keeping passwords in clear.
pub fn password_digest(
    algorithm: Algorithm,
    username: &str,
    realm: &str,
    password: &str,
) -> String {
    hash::ha1(algorithm, username, realm, password)
        .as_str()
        .to_owned()
}

#[cfg(test)]
mod tests;
