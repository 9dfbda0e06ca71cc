//! The pipeline's order and verdicts (spec §7, §8.4, §13) with a stand-in
//! authenticator and service.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use sip_endpoint::responses::reply;
use sip_endpoint::{BoxFuture, Handled, IncomingRequest, Service};
use sip_message::{Message, Method};
use sip_services::{
    AuthRequest, AuthVerdict, Authenticator, EndpointRequest, EndpointService, Identifiers,
    IdentifySettings, NamedAcls, Pipeline, RequestSource,
};
use sorcery::types::endpoint::Endpoint;

mod support;

#[derive(Debug, Clone)]
struct Src(SocketAddr);

impl RequestSource for Src {
    fn remote(&self) -> SocketAddr {
        self.0
    }
    fn local(&self) -> SocketAddr {
        "127.0.0.1:5060".parse().unwrap()
    }
    fn transport(&self) -> &'static str {
        "UDP"
    }
    fn reliable(&self) -> bool {
        false
    }
}

/// Passes requests carrying `Authorization: Digest username="ok"` from a real
/// endpoint; challenges everything else. Records whom it was asked about.
#[derive(Default)]
struct FakeAuth {
    asked: Mutex<Vec<Option<String>>>,
}

impl Authenticator for FakeAuth {
    fn authenticate<'a>(
        &'a self,
        request: &'a AuthRequest,
        endpoint: Option<&'a Endpoint>,
    ) -> BoxFuture<'a, AuthVerdict> {
        Box::pin(async move {
            self.asked
                .lock()
                .unwrap()
                .push(endpoint.map(|e| e.meta.id.to_string()));
            let ok = request
                .credentials
                .iter()
                .any(|c| c.username().as_deref() == Some("ok"));
            match endpoint {
                Some(e) if e.auth.is_empty() || ok => AuthVerdict::Pass,
                _ => AuthVerdict::Challenge(vec!["Digest realm=\"asterisk\", nonce=\"n\"".into()]),
            }
        })
    }
}

/// Answers 200 with the endpoint's id in the reason phrase.
struct Echo;

impl EndpointService<Src> for Echo {
    fn name(&self) -> &str {
        "echo"
    }
    fn methods(&self) -> &[Method] {
        &[Method::Register]
    }
    fn handle(
        &self,
        r: EndpointRequest<Src>,
    ) -> BoxFuture<'_, Result<Message, EndpointRequest<Src>>> {
        Box::pin(async move {
            let reason = format!("OK {}", r.endpoint.meta.id);
            Ok(reply(&r.request.message, 200, Some(&reason), &[]))
        })
    }
}

const CONF: &str = "\
[alice]\ntype=endpoint\nauth=alice\n\
[alice]\ntype=auth\nusername=alice\npassword=x\n\
[open]\ntype=endpoint\nallow_unauthenticated_options=yes\nauth=alice\n\
[fenced]\ntype=endpoint\ndeny=0.0.0.0/0\npermit=10.0.0.0/8\n\
[global-block]\ntype=acl\ndeny=203.0.113.0/24\ncontact_deny=203.0.113.0/24\n";

async fn pipeline() -> (Pipeline<Src>, Arc<FakeAuth>) {
    let objects = support::objects(CONF).await;
    let auth = Arc::new(FakeAuth::default());
    let (ids, _) = Identifiers::ordered(Identifiers::builtin(), &["ip", "username", "anonymous"]);
    let p = Pipeline::new(
        Arc::new(objects),
        NamedAcls::default(),
        ids,
        IdentifySettings::default(),
        false,
        auth.clone(),
        vec![Arc::new(Echo)],
    );
    (p, auth)
}

fn request(method: &str, user: &str, extra: &str) -> Message {
    Message::parse(
        format!(
            "{method} sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n\
             From: <sip:{user}@example.com>;tag=1\r\nTo: <sip:{user}@example.com>\r\n\
             Call-ID: c\r\nCSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n"
        )
        .into_bytes(),
    )
    .expect("parse")
}

async fn status(p: &Pipeline<Src>, m: Message, from: &str) -> (u16, String, String) {
    let r = IncomingRequest {
        message: m,
        source: Src(from.parse().unwrap()),
    };
    match p.handle(r).await {
        Handled::Answered(resp) => (
            resp.status().unwrap_or(0),
            resp.reason().unwrap_or_default().to_owned(),
            resp.to_bytes().escape_ascii().to_string(),
        ),
        Handled::Declined(_) => (0, "declined".into(), String::new()),
    }
}

const CREDS: &str = "Authorization: Digest username=\"ok\", realm=\"asterisk\", nonce=\"n\", uri=\"sip:127.0.0.1\", response=\"0\"\r\n";

#[tokio::test]
async fn identified_and_authenticated_requests_reach_the_service() {
    let (p, auth) = pipeline().await;
    let (code, reason, _) = status(&p, request("REGISTER", "alice", CREDS), "10.0.0.1:5060").await;
    assert_eq!((code, reason.as_str()), (200, "OK alice"));
    let (code, _, text) = status(&p, request("REGISTER", "alice", ""), "10.0.0.1:5060").await;
    assert_eq!(code, 401);
    assert!(
        text.contains("WWW-Authenticate: Digest realm=\\\"asterisk\\\""),
        "{text}"
    );
    assert_eq!(
        *auth.asked.lock().unwrap(),
        vec![Some("alice".to_owned()), Some("alice".to_owned())]
    );
}

#[tokio::test]
async fn unknown_users_and_acl_failures_are_challenged_like_wrong_passwords() {
    let (p, auth) = pipeline().await;
    // Unknown user: the artificial endpoint, challenged, even with credentials.
    let (code, _, _) = status(&p, request("REGISTER", "mallory", CREDS), "10.0.0.1:5060").await;
    assert_eq!(code, 401);
    // fenced only admits 10/8.
    let (code, reason, _) = status(&p, request("REGISTER", "fenced", ""), "10.1.1.1:5060").await;
    assert_eq!((code, reason.as_str()), (200, "OK fenced"));
    let (code, _, _) = status(&p, request("REGISTER", "fenced", ""), "192.0.2.1:5060").await;
    assert_eq!(
        code, 401,
        "an ACL failure looks like a failed login, not a 403"
    );
    assert_eq!(
        *auth.asked.lock().unwrap(),
        vec![None, Some("fenced".to_owned()), None]
    );
}

#[tokio::test]
async fn global_acl_refuses_with_403_and_options_may_skip_auth() {
    let (p, _) = pipeline().await;
    let (code, _, _) = status(&p, request("REGISTER", "alice", CREDS), "203.0.113.5:5060").await;
    assert_eq!(code, 403);
    // A Contact address the global ACL denies is refused too.
    let contact = "Contact: <sip:alice@203.0.113.9:5060>\r\n";
    let (code, _, _) = status(
        &p,
        request("REGISTER", "alice", &format!("{CREDS}{contact}")),
        "10.0.0.1:5060",
    )
    .await;
    assert_eq!(code, 403);
    // allow_unauthenticated_options: OPTIONS reaches the service without credentials.
    let (code, reason, _) = status(&p, request("OPTIONS", "open", ""), "10.0.0.1:5060").await;
    assert_eq!((code, reason.as_str()), (200, "OK open"));
    let (code, _, _) = status(&p, request("OPTIONS", "alice", ""), "10.0.0.1:5060").await;
    assert_eq!(code, 401);
}
