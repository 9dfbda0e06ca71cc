//! The digest authenticator (spec §7): the endpoint's `auth` objects, read through the
//! store, checked with `sip_digest`.
//!
//! * An endpoint without `auth` passes.
//! * The artificial endpoint (unknown user, failed ACL) is challenged with an auth that
//!   has no username, in the default realm with the global default algorithms: it can
//!   never be satisfied, and its 401 looks like every other.
//! * Right credentials on an expired nonce: 401 with `stale=true`. Anything else wrong:
//!   a fresh 401 (never 403), logged with Asterisk's "Failed to authenticate" line.
//! * An `auth` name that does not exist, or no usable auth at all: logged and 500 — the
//!   request is never let through because its credentials could not be checked.

use std::sync::Arc;

use sip_digest::{Algorithm, Auth, DigestServer, Outcome, Request};
use sip_endpoint::BoxFuture;
use sorcery::objects::Objects;
use sorcery::types::auth::{Algorithm as ConfAlgorithm, Auth as AuthObject, AuthType};
use sorcery::types::endpoint::Endpoint;

use crate::pipeline::{security_failure, AuthRequest, AuthVerdict, Authenticator};
use crate::registrar::unix_now;

/// Asterisk's `default_realm` default.
const DEFAULT_REALM: &str = "asterisk";

/// Checks Digest credentials against the store's auth objects.
pub struct DigestAuthenticator {
    server: DigestServer,
    objects: Arc<Objects>,
}

impl DigestAuthenticator {
    /// An authenticator with a fresh random nonce key (nonces from an earlier run or
    /// another process are then stale or invalid, as Asterisk's are after a restart).
    pub fn new(objects: Arc<Objects>) -> Result<DigestAuthenticator, String> {
        let server = DigestServer::new().map_err(|e| format!("no randomness for nonces: {e}"))?;
        Ok(DigestAuthenticator { server, objects })
    }

    /// With a given server (a fixed key, for tests).
    pub fn with_server(objects: Arc<Objects>, server: DigestServer) -> DigestAuthenticator {
        DigestAuthenticator { server, objects }
    }

    /// The global `default_realm` and `default_auth_algorithms_uas`.
    async fn defaults(&self) -> (String, Vec<Algorithm>) {
        match self.objects.global.get("global").await {
            Ok(Some(g)) => {
                let realm = if g.default_realm.is_empty() {
                    DEFAULT_REALM.to_owned()
                } else {
                    g.default_realm.to_string()
                };
                (realm, algorithms(&g.default_auth_algorithms_uas))
            }
            _ => (DEFAULT_REALM.to_owned(), vec![Algorithm::Md5]),
        }
    }

    async fn check(&self, request: &AuthRequest, endpoint: Option<&Endpoint>) -> AuthVerdict {
        let now = unix_now();
        let ip = request.remote.ip().to_canonical();
        let (default_realm, default_algorithms) = self.defaults().await;
        let Some(endpoint) = endpoint else {
            let artificial = Auth::new("", &default_realm).algorithms(&default_algorithms);
            return AuthVerdict::Challenge(self.server.challenges(&[artificial], now, ip, false));
        };
        if endpoint.auth.is_empty() {
            return AuthVerdict::Pass;
        }
        let mut objects: Vec<Arc<AuthObject>> = Vec::with_capacity(endpoint.auth.len());
        for name in endpoint.auth.iter() {
            match self.objects.auth.get(name).await {
                Ok(Some(a)) => match a.auth_type {
                    AuthType::Userpass | AuthType::Md5 | AuthType::Digest => objects.push(a),
                    other => tracing::warn!(
                        "endpoint '{}': auth '{name}' has auth_type={}, which this server cannot check",
                        endpoint.meta.id,
                        other.word()
                    ),
                },
                Ok(None) => tracing::error!(
                    "endpoint '{}': auth '{name}' does not exist",
                    endpoint.meta.id
                ),
                Err(e) => return AuthVerdict::Error(format!("auth '{name}': {e}")),
            }
        }
        if objects.is_empty() {
            return AuthVerdict::Error(format!(
                "endpoint '{}' has no usable auth object",
                endpoint.meta.id
            ));
        }
        let algorithms: Vec<Vec<Algorithm>> = objects
            .iter()
            .map(|a| {
                let own = algorithms(&a.supported_algorithms_uas);
                if own.is_empty() {
                    default_algorithms.clone()
                } else {
                    own
                }
            })
            .collect();
        let auths: Vec<Auth<'_>> = objects
            .iter()
            .zip(&algorithms)
            .map(|(a, algs)| digest_auth(a, &default_realm, algs))
            .collect();
        let req = Request {
            method: &request.method,
            uri: &request.request_uri,
            source: ip,
            now,
        };
        match self
            .server
            .verify_request(&request.credentials, &auths, &req)
        {
            Outcome::Authenticated(_) => AuthVerdict::Pass,
            Outcome::Stale => AuthVerdict::Challenge(self.server.challenges(&auths, now, ip, true)),
            Outcome::Missing => {
                AuthVerdict::Challenge(self.server.challenges(&auths, now, ip, false))
            }
            Outcome::Failed(why) => {
                tracing::debug!(
                    "endpoint '{}': digest check failed: {why:?}",
                    endpoint.meta.id
                );
                security_failure(request, "Failed to authenticate");
                AuthVerdict::Challenge(self.server.challenges(&auths, now, ip, false))
            }
        }
    }
}

/// The configured algorithms in the digest crate's terms.
pub(crate) fn algorithms(list: &[ConfAlgorithm]) -> Vec<Algorithm> {
    list.iter()
        .map(|a| match a {
            ConfAlgorithm::Md5 => Algorithm::Md5,
            ConfAlgorithm::Sha256 => Algorithm::Sha256,
            ConfAlgorithm::Sha512_256 => Algorithm::Sha512_256,
        })
        .collect()
}

/// One auth object as the digest crate sees it: the realm (or the default), the
/// password for `userpass`, and every stored digest (`md5_cred` is stored as the MD5
/// one).
fn digest_auth<'a>(a: &'a AuthObject, default_realm: &'a str, algs: &'a [Algorithm]) -> Auth<'a> {
    let realm = if a.realm.is_empty() {
        default_realm
    } else {
        &a.realm
    };
    auth_in_realm(a, realm, algs)
}

/// `a` as the digest crate sees it, for `realm` (a client passes the auth's own realm:
/// empty or `*` answers any challenge).
pub(crate) fn auth_in_realm<'a>(
    a: &'a AuthObject,
    realm: &'a str,
    algs: &'a [Algorithm],
) -> Auth<'a> {
    let mut d = Auth::new(&a.username, realm)
        .algorithms(algs)
        .nonce_lifetime(a.nonce_lifetime);
    if a.auth_type == AuthType::Userpass {
        d = d.password(&a.password);
    }
    if a.auth_type == AuthType::Md5 && !a.md5_cred.is_empty() {
        d = d.md5_cred(&a.md5_cred);
    }
    for p in a.password_digest.0.iter() {
        let alg = algorithms(std::slice::from_ref(&p.algorithm));
        if let Some(alg) = alg.first() {
            d = d.digest(*alg, &p.hex);
        }
    }
    d
}

impl Authenticator for DigestAuthenticator {
    fn authenticate<'a>(
        &'a self,
        request: &'a AuthRequest,
        endpoint: Option<&'a Endpoint>,
    ) -> BoxFuture<'a, AuthVerdict> {
        Box::pin(self.check(request, endpoint))
    }
}
