//! `type=auth`: credentials, used to challenge (inbound) or to answer challenges
//! (outbound) (spec §2.5).

use std::borrow::Cow;

use crate::object::{Meta, Object, Opt};
use crate::value::{List, OptValue, Text};
use crate::{choice, impl_tables, opt};

choice! {
    /// How the credential is given. Asterisk infers the kind from the fields present;
    /// the option remains for old files.
    pub enum AuthType {
        /// `password` (or digests) in clear.
        Userpass = ["userpass"],
        /// `md5_cred` (legacy MD5 digest).
        Md5 = ["md5"],
        /// `password_digest` entries.
        Digest = ["digest"],
        /// Google OAuth (token refresh).
        GoogleOauth = ["google_oauth"],
    }
}

choice! {
    /// A digest algorithm (RFC 8760 names).
    pub enum Algorithm {
        /// MD5.
        Md5 = ["MD5"],
        /// SHA-256.
        Sha256 = ["SHA-256"],
        /// SHA-512/256.
        Sha512_256 = ["SHA-512-256"],
    }
}

impl Algorithm {
    /// Length of the hash in hex digits.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Md5 => 32,
            Algorithm::Sha256 | Algorithm::Sha512_256 => 64,
        }
    }
}

/// A precomputed H(username:realm:password) for one algorithm (`password_digest`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PasswordDigest {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The hash, lower-case hex.
    pub hex: Text,
}

/// One entry per algorithm; a later line for the same algorithm replaces the earlier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Digests(pub Box<[PasswordDigest]>);

impl Digests {
    /// The digest for `algorithm`, if given.
    pub fn get(&self, algorithm: Algorithm) -> Option<&str> {
        self.0
            .iter()
            .find(|d| d.algorithm == algorithm)
            .map(|d| &*d.hex)
    }
}

fn parse_digest(text: &str) -> Result<PasswordDigest, String> {
    let (alg, hex) = text
        .trim()
        .split_once(':')
        .ok_or_else(|| format!("'{text}' is not ALGORITHM:hex"))?;
    let algorithm = Algorithm::parse(alg)?;
    let hex = hex.trim();
    if hex.len() != algorithm.hex_len() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "the {} digest must be {} hex digits",
            algorithm.word(),
            algorithm.hex_len()
        ));
    }
    Ok(PasswordDigest {
        algorithm,
        hex: hex.to_ascii_lowercase().into(),
    })
}

impl OptValue for Digests {
    fn accepted() -> Cow<'static, str> {
        "ALGORITHM:hex with ALGORITHM one of MD5, SHA-256, SHA-512-256 (one line per algorithm)"
            .into()
    }
    fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Digests::default());
        }
        Ok(Digests(vec![parse_digest(text)?].into_boxed_slice()))
    }
    fn show(&self, out: &mut String) {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(d.algorithm.word());
            out.push(':');
            out.push_str(&d.hex);
        }
    }
    fn show_each(&self, out: &mut Vec<String>) {
        out.extend(
            self.0
                .iter()
                .map(|d| format!("{}:{}", d.algorithm.word(), d.hex)),
        );
    }
    fn merge(&mut self, later: Self) {
        let mut all: Vec<PasswordDigest> = std::mem::take(&mut self.0).into_vec();
        for d in later.0.into_vec() {
            all.retain(|e| e.algorithm != d.algorithm);
            all.push(d);
        }
        self.0 = all.into_boxed_slice();
    }
}

/// Credentials.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Auth {
    /// Id and extended fields.
    pub meta: Meta,
    /// Kind of credential (informational; the fields present decide).
    pub auth_type: AuthType,
    /// Seconds a nonce we issue stays valid.
    pub nonce_lifetime: u32,
    /// Legacy MD5 H(A1), 32 hex digits.
    pub md5_cred: Text,
    /// The password in clear.
    pub password: Text,
    /// Precomputed digests per algorithm.
    pub password_digest: Digests,
    /// Realm in our challenges (empty: global default_realm); as a client, empty or `*`
    /// answers any realm.
    pub realm: Text,
    /// The user name.
    pub username: Text,
    /// Algorithms we challenge with (empty: global default).
    pub supported_algorithms_uas: List<Algorithm>,
    /// Algorithms we answer with (empty: global default).
    pub supported_algorithms_uac: List<Algorithm>,
    /// Google OAuth refresh token.
    pub refresh_token: Text,
    /// Google OAuth client id.
    pub oauth_clientid: Text,
    /// Google OAuth client secret.
    pub oauth_secret: Text,
}

impl_tables!(Auth);

impl Object for Auth {
    const TYPE: &'static str = "auth";

    fn options() -> &'static [Opt<Self>] {
        static OPTS: &[Opt<Auth>] = &[
            opt!("auth_type", "userpass", auth_type),
            opt!("nonce_lifetime", "32", nonce_lifetime),
            opt!("md5_cred", "", md5_cred),
            opt!("password", "", password),
            opt!("password_digest", "", password_digest),
            opt!("realm", "", realm),
            opt!("username", "", username),
            opt!("supported_algorithms_uas", "", supported_algorithms_uas),
            opt!("supported_algorithms_uac", "", supported_algorithms_uac),
            opt!("refresh_token", "", refresh_token),
            opt!("oauth_clientid", "", oauth_clientid),
            opt!("oauth_secret", "", oauth_secret),
        ];
        OPTS
    }

    fn check(&mut self) -> Result<(), String> {
        if !self.md5_cred.is_empty() {
            if self.md5_cred.len() != 32 || !self.md5_cred.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("md5_cred must be 32 hex digits".into());
            }
            // md5_cred is the legacy spelling of an MD5 password_digest.
            if self.password_digest.get(Algorithm::Md5).is_none() {
                let mut d = std::mem::take(&mut self.password_digest.0).into_vec();
                d.push(PasswordDigest {
                    algorithm: Algorithm::Md5,
                    hex: self.md5_cred.to_ascii_lowercase().into(),
                });
                self.password_digest.0 = d.into_boxed_slice();
            }
        }
        if self.auth_type == AuthType::GoogleOauth {
            if self.refresh_token.is_empty()
                || self.oauth_clientid.is_empty()
                || self.oauth_secret.is_empty()
            {
                return Err(
                    "google_oauth needs refresh_token, oauth_clientid and oauth_secret".into(),
                );
            }
            return Ok(());
        }
        if self.username.is_empty() {
            return Err("username is required".into());
        }
        for alg in self
            .supported_algorithms_uas
            .iter()
            .chain(self.supported_algorithms_uac.iter())
        {
            if self.password.is_empty() && self.password_digest.get(*alg).is_none() {
                return Err(format!(
                    "algorithm {} is listed but neither password nor a {} password_digest is set",
                    alg.word(),
                    alg.word()
                ));
            }
        }
        Ok(())
    }
}
