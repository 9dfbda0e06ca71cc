//! Route sets (RFC 3261 §12.1.1, §12.1.2) and where an in-dialog request goes
//! (§12.2.1.1, with strict routers as RFC 2543 defined them).

use sip_message::{Message, NameAddr, Uri};

use crate::error::DialogError;

/// The proxies every request in the dialog must pass, first hop first.
///
/// Entries are kept as the Record-Route values were received (display name and header
/// parameters included) and written back as such, as pjsip does; only their URIs
/// matter to routing.
#[derive(Debug, Clone, Default)]
pub struct RouteSet(Vec<NameAddr>);

/// The Request-URI and Route values of an in-dialog request (§12.2.1.1).
#[derive(Debug, Clone)]
pub struct Destination {
    /// The Request-URI.
    pub request_uri: Uri,
    /// The Route header values, first hop first.
    pub routes: Vec<String>,
}

impl RouteSet {
    /// A route set from its entries, first hop first.
    pub fn new(entries: Vec<NameAddr>) -> RouteSet {
        RouteSet(entries)
    }

    /// The UAS route set: the request's Record-Route values in order (§12.1.1).
    /// Each proxy puts its entry on top, so the first entry is the proxy nearest us:
    /// our first hop towards the caller.
    pub fn from_request(request: &Message) -> Result<RouteSet, DialogError> {
        Ok(RouteSet(request.record_route()?))
    }

    /// The UAC route set: the response's Record-Route values in reverse order
    /// (§12.1.2): the first entry is the proxy nearest the UAS, and our first hop is
    /// the one nearest us, at the bottom.
    pub fn from_response(response: &Message) -> Result<RouteSet, DialogError> {
        let mut v = response.record_route()?;
        v.reverse();
        Ok(RouteSet(v))
    }

    /// The entries, first hop first.
    pub fn entries(&self) -> &[NameAddr] {
        &self.0
    }

    /// Whether there are no proxies to pass.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Where a request to `remote_target` goes (§12.2.1.1):
    ///
    /// - empty route set: Request-URI = remote target, no Route;
    /// - first entry has `lr` (loose router): Request-URI = remote target, Route =
    ///   the whole route set;
    /// - otherwise (strict router, RFC 2543): Request-URI = the first entry's URI
    ///   without the parameters a Request-URI may not carry, Route = the other entries
    ///   followed by the remote target.
    pub fn destination(&self, remote_target: &Uri) -> Destination {
        let Some(first) = self.0.first() else {
            return Destination {
                request_uri: request_uri_form(remote_target),
                routes: Vec::new(),
            };
        };
        let loose = first.uri().as_sip().is_some_and(|u| u.lr());
        if loose {
            Destination {
                request_uri: request_uri_form(remote_target),
                routes: self.0.iter().map(|r| r.to_string()).collect(),
            }
        } else {
            let mut routes: Vec<String> = self.0[1..].iter().map(|r| r.to_string()).collect();
            routes.push(format!("<{remote_target}>"));
            Destination {
                request_uri: request_uri_form(first.uri()),
                routes,
            }
        }
    }
}

/// `uri` as a Request-URI may carry it: without the `method` parameter and without
/// URI headers (RFC 3261 §19.1.1, table 1; §12.2.1.1 "stripping any parameters that
/// are not allowed in a Request-URI").
fn request_uri_form(uri: &Uri) -> Uri {
    let Some(sip) = uri.as_sip() else {
        return uri.clone();
    };
    if sip.headers_str().is_none() && sip.param("method").is_none() {
        return uri.clone();
    }
    let mut s = sip.without_params();
    for (name, value) in sip.params() {
        if name.eq_ignore_ascii_case("method") {
            continue;
        }
        s.push(';');
        s.push_str(name);
        if let Some(v) = value {
            s.push('=');
            s.push_str(v);
        }
    }
    // Made of the parts of a valid URI; should that ever fail to parse, the original
    // is still a usable (if over-decorated) Request-URI.
    Uri::parse(&s).unwrap_or_else(|_| uri.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn na(s: &str) -> NameAddr {
        let m = Message::parse(
            format!(
                "SIP/2.0 200 OK\r\nRecord-Route: {s}\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n"
            )
            .into_bytes(),
        )
        .unwrap();
        m.record_route().unwrap().remove(0)
    }

    #[test]
    fn request_uri_drops_method_and_headers() {
        let u = Uri::parse("sip:p1.example.com;method=INVITE;transport=tcp?Subject=x").unwrap();
        assert_eq!(
            request_uri_form(&u).as_str(),
            "sip:p1.example.com;transport=tcp"
        );
        let plain = Uri::parse("sip:bob@192.0.2.4;transport=tls").unwrap();
        assert_eq!(request_uri_form(&plain).as_str(), plain.as_str());
    }

    #[test]
    fn empty_loose_and_strict() {
        let target = Uri::parse("sip:bob@192.0.2.4").unwrap();
        let d = RouteSet::default().destination(&target);
        assert_eq!(d.request_uri.as_str(), "sip:bob@192.0.2.4");
        assert!(d.routes.is_empty());

        let loose = RouteSet::new(vec![
            na("<sip:p1.example.com;lr>"),
            na("<sip:p2.example.com;lr>"),
        ]);
        let d = loose.destination(&target);
        assert_eq!(d.request_uri.as_str(), "sip:bob@192.0.2.4");
        assert_eq!(
            d.routes,
            ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
        );

        let strict = RouteSet::new(vec![
            na("<sip:p1.example.com>"),
            na("<sip:p2.example.com;lr>"),
        ]);
        let d = strict.destination(&target);
        assert_eq!(d.request_uri.as_str(), "sip:p1.example.com");
        assert_eq!(d.routes, ["<sip:p2.example.com;lr>", "<sip:bob@192.0.2.4>"]);
    }
}
