//! The registrar service and connections (spec §6.7): a contact registered over TCP
//! with `rewrite_contact=yes` is `prune_on_boot` and bound to the connection the
//! REGISTER came on; `registrar::connection_closed` removes it from the location
//! service and from the store; a REGISTER stored after its connection closed leaves
//! nothing behind.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use asterisk_conf::FsSource;
use sip_endpoint::{Handled, IncomingRequest, Service};
use sip_message::Message;
use sip_registrar::Location;
use sip_services::registrar::connection_closed;
use sip_services::{
    DigestAuthenticator, Identifiers, IdentifySettings, NamedAcls, Pipeline, RegistrarService,
    RequestSource,
};
use sorcery::contacts::{ContactWriter, WriterOptions};
use sorcery::objects::{Objects, OpenOptions};
use sorcery::tables::SqlOpener;

/// A request that came over a TCP connection.
#[derive(Debug, Clone)]
struct Tcp {
    remote: SocketAddr,
    connection: u64,
}

impl RequestSource for Tcp {
    fn remote(&self) -> SocketAddr {
        self.remote
    }
    fn local(&self) -> SocketAddr {
        "127.0.0.1:5060".parse().unwrap()
    }
    fn transport(&self) -> &'static str {
        "TCP"
    }
    fn reliable(&self) -> bool {
        true
    }
    fn connection(&self) -> Option<u64> {
        Some(self.connection)
    }
}

const CONF: &str = "\
[natted]\ntype=endpoint\naors=natted\nrewrite_contact=yes\n\
[natted]\ntype=aor\nmax_contacts=1\n";

struct Registrar {
    pipeline: Pipeline<Tcp>,
    location: Arc<Location>,
    writer: ContactWriter,
    objects: Arc<Objects>,
    dir: PathBuf,
}

impl Drop for Registrar {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn registrar(tag: &str) -> Registrar {
    let dir = std::env::temp_dir().join(format!("sb-services-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pjsip.conf"), CONF).unwrap();
    let url = format!("sqlite://{}/switchboard.db", dir.display());
    let opener = SqlOpener::new(Some(url.clone()));
    let (objects, report) = Objects::open(OpenOptions {
        source: Arc::new(FsSource::new(&dir)),
        local_store_url: Some(url),
        tables: Some(&opener),
    })
    .await
    .expect("load");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let objects = Arc::new(objects);
    let location = Arc::new(Location::new());
    let writer = ContactWriter::start(Arc::clone(&objects), WriterOptions::default());
    let service = RegistrarService::new(
        Arc::clone(&objects),
        Arc::clone(&location),
        writer.clone(),
        "node".into(),
        false,
    );
    let (ids, _) = Identifiers::ordered(Identifiers::builtin(), &["username"]);
    let pipeline = Pipeline::new(
        Arc::clone(&objects),
        NamedAcls::default(),
        ids,
        IdentifySettings::default(),
        false,
        Arc::new(DigestAuthenticator::new(Arc::clone(&objects)).unwrap()),
        vec![Arc::new(service)],
    );
    Registrar {
        pipeline,
        location,
        writer,
        objects,
        dir,
    }
}

impl Registrar {
    /// Registers `natted` from 203.0.113.5:40001 over `connection`; the status.
    async fn register(&self, connection: u64) -> u16 {
        let message = Message::parse(
            "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/TCP 10.0.0.2:5060;branch=z9hG4bK-r;received=203.0.113.5;rport=40001\r\n\
             From: <sip:natted@127.0.0.1>;tag=1\r\nTo: <sip:natted@127.0.0.1>\r\n\
             Call-ID: c\r\nCSeq: 1 REGISTER\r\n\
             Contact: <sip:natted@10.0.0.2:5060;transport=tcp>\r\nExpires: 600\r\n\
             Content-Length: 0\r\n\r\n"
                .as_bytes()
                .to_vec(),
        )
        .unwrap();
        let request = IncomingRequest {
            message,
            source: Tcp {
                remote: "203.0.113.5:40001".parse().unwrap(),
                connection,
            },
        };
        match self.pipeline.handle(request).await {
            Handled::Answered(r) => r.status().unwrap_or(0),
            Handled::Declined(_) => 0,
        }
    }

    async fn stored(&self) -> usize {
        self.objects.contact.get_all().await.expect("store").len()
    }
}

#[tokio::test]
async fn a_tcp_contact_is_bound_to_its_connection_and_goes_with_it() {
    let r = registrar("close").await;
    assert_eq!(r.register(7).await, 200);
    let bound = r.location.bound_to(7);
    assert_eq!(bound.len(), 1);
    assert!(bound[0].prune_on_boot);
    assert_eq!(
        bound[0].uri.as_str(),
        "sip:natted@203.0.113.5:40001;transport=tcp;x-ast-orig-host=10.0.0.2:5060"
    );
    assert_eq!(r.stored().await, 1);

    // Another connection's end, and one that carried no registration: nothing to do.
    assert!(connection_closed(&r.location, &r.writer, 8).is_none());
    let forget = connection_closed(&r.location, &r.writer, 7).expect("a contact to forget");
    // Gone from memory at once, from the store when the future has run.
    assert!(r.location.contacts("natted", 0).is_empty());
    forget.await;
    assert_eq!(r.stored().await, 0);
}

#[tokio::test]
async fn a_register_stored_after_its_connection_closed_leaves_nothing() {
    let r = registrar("late").await;
    // The connection closed while its REGISTER was on its way through.
    assert!(connection_closed(&r.location, &r.writer, 9).is_none());
    assert_eq!(r.register(9).await, 200);
    assert!(r.location.contacts("natted", 0).is_empty());
    assert_eq!(r.stored().await, 0);
    // A REGISTER over a live connection is kept.
    assert_eq!(r.register(10).await, 200);
    assert_eq!(r.location.bound_to(10).len(), 1);
    assert_eq!(r.stored().await, 1);
}
