//! Which AOR a REGISTER is for (spec §6.3 and the first three answers of §6.2).
//!
//! Kept apart from [`register`](crate::register) because it needs different inputs (the
//! endpoint's `aors`, the domain aliases, a global option and the Authorization header)
//! and because its answer — an AOR name — is what the driver uses to load the AOR and
//! pick the AOR's serializer before the registrar rules run.

use std::borrow::Cow;

use sip_message::Message;
use sorcery::value::Text;

use crate::reply::{printable, Reply};

/// What the AOR lookup needs besides the request.
pub struct AorQuery<'a> {
    /// The endpoint's `aors`, in configured order. Only these can match.
    pub endpoint_aors: &'a [Text],
    /// Global `ignore_uri_user_options`: cut the To user at the first `;`.
    pub ignore_uri_user_options: bool,
    /// Whether the endpoint's `identify_by` includes `auth_username`: then the Digest
    /// username/realm of each Authorization header is tried when the To URI matched none.
    pub by_auth_username: bool,
    /// `domain_alias` lookup: the canonical domain for an alias, if there is one.
    pub domain_alias: &'a dyn Fn(&str) -> Option<Text>,
}

/// The name of the AOR a REGISTER is for, or the error response.
///
/// For the To URI (then, if allowed, each Authorization username/realm), the endpoint's
/// `aors` are searched — each form over the whole list before the next form — for
/// exactly (case-sensitively) `user@host`, then `user@<canonical domain of host>`, then
/// bare `user` when it is not empty.
///
/// * endpoint with no `aors` ⇒ 403;
/// * To URI not `sip:`/`sips:` ⇒ 416;
/// * nothing matched ⇒ 404.
pub fn find_aor(request: &Message, q: &AorQuery<'_>) -> Result<Text, Reply> {
    if q.endpoint_aors.iter().all(|a| a.trim().is_empty()) {
        return Err(Reply::error(403, "Endpoint has no AORs"));
    }
    let to = request
        .to()
        .map_err(|e| Reply::error(400, format!("Bad To header: {e}")))?;
    let Some(uri) = to.uri().as_sip() else {
        return Err(Reply::error(416, "To URI is not a sip: or sips: URI"));
    };
    let user: Cow<'_, str> = match uri.user_decoded() {
        Some(u) => match u {
            Cow::Borrowed(b) => String::from_utf8_lossy(b),
            Cow::Owned(v) => Cow::Owned(String::from_utf8_lossy(&v).into_owned()),
        },
        None => Cow::Borrowed(""),
    };
    let user = if q.ignore_uri_user_options {
        match user.find(';') {
            Some(i) => Cow::Owned(user[..i].to_owned()),
            None => user,
        }
    } else {
        user
    };
    if let Some(name) = match_forms(&user, uri.host(), q) {
        return Ok(name);
    }
    if q.by_auth_username {
        if let Ok(creds) = request.authorization() {
            for c in creds.iter().filter(|c| c.is_digest()) {
                let (Some(u), Some(r)) = (c.username(), c.realm()) else {
                    continue;
                };
                if let Some(name) = match_forms(&u, &r, q) {
                    return Ok(name);
                }
            }
        }
    }
    let tried = if user.is_empty() {
        uri.host().to_owned()
    } else {
        format!("{user}@{}", uri.host())
    };
    Err(Reply::error(
        404,
        format!("AOR '{}' not found", printable(&tried)),
    ))
}

fn find_in(list: &[Text], wanted: &str) -> Option<Text> {
    list.iter().find(|a| a.trim() == wanted).cloned()
}

fn match_forms(user: &str, host: &str, q: &AorQuery<'_>) -> Option<Text> {
    let list = q.endpoint_aors;
    if !user.is_empty() {
        if let Some(a) = find_in(list, &format!("{user}@{host}")) {
            return Some(a);
        }
        if let Some(domain) = (q.domain_alias)(host) {
            if let Some(a) = find_in(list, &format!("{user}@{}", domain.as_str())) {
                return Some(a);
            }
        }
        return find_in(list, user);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(to: &str, auth: Option<&str>) -> Message {
        let mut s = format!(
            "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1\r\n\
             From: <sip:x@example.com>;tag=1\r\nTo: {to}\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n"
        );
        if let Some(a) = auth {
            s.push_str(&format!("Authorization: {a}\r\n"));
        }
        s.push_str("Content-Length: 0\r\n\r\n");
        Message::parse(s.into_bytes()).unwrap()
    }

    fn aliases(host: &str) -> Option<Text> {
        (host == "alias.example").then(|| Text::from("example.com"))
    }

    fn query(aors: &[Text]) -> AorQuery<'_> {
        AorQuery {
            endpoint_aors: aors,
            ignore_uri_user_options: false,
            by_auth_username: false,
            domain_alias: &aliases,
        }
    }

    #[test]
    fn forms_in_order() {
        let aors = [Text::from("alice"), Text::from("alice@example.com")];
        let q = query(&aors);
        let r = find_aor(&req("<sip:alice@example.com>", None), &q).unwrap();
        assert_eq!(&*r, "alice@example.com");
        let r = find_aor(&req("<sip:alice@alias.example>", None), &q).unwrap();
        assert_eq!(&*r, "alice@example.com");
        let r = find_aor(&req("<sip:alice@other.example>", None), &q).unwrap();
        assert_eq!(&*r, "alice");
    }

    #[test]
    fn exact_case_and_user_options() {
        let aors = [Text::from("alice")];
        let mut q = query(&aors);
        assert_eq!(
            find_aor(&req("<sip:Alice@example.com>", None), &q)
                .unwrap_err()
                .code,
            404
        );
        assert_eq!(
            find_aor(&req("<sip:alice;npdi@example.com>", None), &q)
                .unwrap_err()
                .code,
            404
        );
        q.ignore_uri_user_options = true;
        assert_eq!(
            &*find_aor(&req("<sip:alice;npdi@example.com>", None), &q).unwrap(),
            "alice"
        );
    }

    #[test]
    fn errors_403_416_404() {
        let q = query(&[]);
        assert_eq!(find_aor(&req("<sip:a@b>", None), &q).unwrap_err().code, 403);
        let aors = [Text::from("a")];
        let q = query(&aors);
        assert_eq!(
            find_aor(&req("<tel:+15551234>", None), &q)
                .unwrap_err()
                .code,
            416
        );
        let e = find_aor(&req("<sip:b@h>", None), &q).unwrap_err();
        assert_eq!((e.code, e.reason.as_str()), (404, "AOR 'b@h' not found"));
    }

    #[test]
    fn auth_username_when_allowed() {
        let aors = [Text::from("101")];
        let mut q = query(&aors);
        let auth =
            r#"Digest username="101", realm="asterisk", nonce="n", uri="sip:x", response="r""#;
        let r = req("<sip:front@example.com>", Some(auth));
        assert_eq!(find_aor(&r, &q).unwrap_err().code, 404);
        q.by_auth_username = true;
        assert_eq!(&*find_aor(&r, &q).unwrap(), "101");
    }
}
