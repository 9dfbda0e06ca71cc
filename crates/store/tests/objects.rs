//! Loading typed objects from configuration files: the examples users learn from, the
//! rules for bad input, and reload.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use asterisk_conf::FsSource;
use sorcery::objects::{LoadReport, Objects, OpenOptions};
use sorcery::types::endpoint::{DtmfMode, IdentifyBy};
use sorcery::types::identify::MatchTarget;

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let p = std::env::temp_dir().join(format!(
            "sb-objects-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        Dir(p)
    }
    fn write(&self, file: &str, text: &str) -> &Dir {
        std::fs::write(self.0.join(file), text).expect("write");
        self
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn open(dir: &Dir) -> (Objects, LoadReport) {
    Objects::open(OpenOptions {
        source: Arc::new(FsSource::new(dir.path())),
        local_store_url: None,
        tables: None,
    })
    .await
    .expect("mapping")
}

const BASIC: &str = "\
[transport-udp]
type=transport
protocol=udp
bind=0.0.0.0

[6001]
type=endpoint
context=from-internal
disallow=all
allow=ulaw
auth=6001
aors=6001

[6001]
type=auth
auth_type=userpass
password=6001
username=6001

[6001]
type=aor
max_contacts=1
remove_existing=yes

[6002]
type=aor
contact=sip:6002@192.0.2.5:5060
contact=sip:6002@192.0.2.6:5060,sip:6002@192.0.2.7
qualify_frequency=60
";

#[tokio::test]
async fn the_basic_example_loads_into_the_expected_objects() {
    let dir = Dir::new("basic");
    dir.write("pjsip.conf", BASIC);
    let (objects, report) = open(&dir).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);

    let t = objects
        .transport
        .get("transport-udp")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.bind_addr().unwrap(), "0.0.0.0:5060".parse().unwrap());

    let e = objects.endpoint.get("6001").await.unwrap().unwrap();
    assert_eq!(&*e.context, "from-internal");
    assert_eq!(e.settings.codecs.0, vec!["ulaw"]);
    assert_eq!(&*e.auth, &["6001".into()] as &[sorcery::value::Text]);
    assert_eq!(&*e.aors, &["6001".into()] as &[sorcery::value::Text]);
    // Defaults from the spec.
    assert!(e.settings.direct_media);
    assert!(e.settings.force_rport);
    assert!(!e.settings.rewrite_contact);
    assert_eq!(e.settings.dtmf_mode, DtmfMode::Rfc4733);
    assert_eq!(
        &*e.settings.identify_by,
        &[IdentifyBy::Username, IdentifyBy::Ip]
    );
    assert_eq!(e.settings.timers_sess_expires, 1800);

    let auth = objects.auth.get("6001").await.unwrap().unwrap();
    assert_eq!((&*auth.username, &*auth.password), ("6001", "6001"));
    assert_eq!(auth.nonce_lifetime, 32);

    let aor = objects.aor.get("6001").await.unwrap().unwrap();
    assert_eq!(aor.max_contacts, 1);
    assert!(aor.remove_existing);
    assert_eq!(aor.default_expiration, 3600);
    assert_eq!(aor.minimum_expiration, 60);
    assert_eq!(aor.maximum_expiration, 7200);

    let aor2 = objects.aor.get("6002").await.unwrap().unwrap();
    assert_eq!(
        aor2.max_contacts, 0,
        "max_contacts defaults to 0 (registration forbidden)"
    );
    assert_eq!(
        aor2.contact.len(),
        3,
        "contact accumulates over lines and commas"
    );
    assert_eq!(aor2.qualify_frequency, 60);

    let all = objects.aor.get_all().await.unwrap();
    let ids: Vec<&str> = all.iter().map(|a| a.meta.id.as_ref()).collect();
    assert_eq!(ids, ["6001", "6002"]);
    assert!(objects.endpoint.get("nobody").await.unwrap().is_none());
}

#[tokio::test]
async fn templates_inherit_and_accumulating_options_accumulate() {
    let dir = Dir::new("templates");
    dir.write(
        "pjsip.conf",
        "\
[phone](!)
type=endpoint
context=phones
disallow=all
allow=ulaw,alaw
direct_media=no
set_var=A=1
deny=0.0.0.0/0
permit=10.0.0.0/8

[101](phone)
allow=!alaw,g722
set_var=B=2
callerid=\"Alice\" <101>
permit=192.168.1.0/255.255.255.0

[102](phone)
callerid=\"Bob\" <102>

[103](phone)
callerid=\"Carol\" <103>

[mac-1]
type=identify
endpoint=101
match=192.0.2.1,192.0.2.0/24
match=!192.0.2.9
match=sip.example.com:5070
",
    );
    let (objects, report) = open(&dir).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(
        objects.endpoint.get("phone").await.unwrap().is_none(),
        "templates are not objects"
    );
    let e = objects.endpoint.get("101").await.unwrap().unwrap();
    assert_eq!(&*e.context, "phones");
    assert_eq!(e.settings.codecs.0, vec!["ulaw", "g722"]);
    assert!(!e.settings.direct_media);
    assert_eq!(e.set_var.len(), 2);
    assert_eq!(e.settings.acl.0.len(), 3, "deny then two permits, in order");
    let fields = sorcery::object::fields(&*e);
    let show = |name: &str| fields.iter().find(|(n, _)| *n == name).unwrap().1.clone();
    assert_eq!(show("allow"), "(ulaw|g722)");
    assert_eq!(show("permit"), "10.0.0.0/8,192.168.1.0/24");
    assert_eq!(show("callerid"), "\"Alice\" <101>");

    let e102 = objects.endpoint.get("102").await.unwrap().unwrap();
    let e101b = objects.endpoint.get("101").await.unwrap().unwrap();
    assert!(
        !Arc::ptr_eq(&e.settings.0, &e102.settings.0),
        "101 changed its codecs and ACL"
    );
    assert!(Arc::ptr_eq(&e.settings.0, &e101b.settings.0));
    let e103 = objects.endpoint.get("103").await.unwrap().unwrap();
    assert!(
        Arc::ptr_eq(&e102.settings.0, &e103.settings.0),
        "endpoints stamped from one template share one settings group"
    );

    let id = objects.identify.get("mac-1").await.unwrap().unwrap();
    assert_eq!(id.r#match.len(), 4);
    assert!(id.r#match[2].negate);
    assert_eq!(
        id.r#match[3].target,
        MatchTarget::Host("sip.example.com".into())
    );
    assert_eq!(id.r#match[3].port, Some(5070));
}

#[tokio::test]
async fn a_bad_option_drops_only_its_object_with_a_precise_message() {
    let dir = Dir::new("bad");
    dir.write(
        "pjsip.conf",
        "\
[good]
type=endpoint
context=a

[typo]
type=endpoint
contxt=a

[badbool]
type=endpoint
direct_media=maybe

[badcodec]
type=endpoint
allow=ulaw,speex99

[timers]
type=endpoint
timers_min_se=30

[reg]
type=registration
client_uri=sip:me@example.com

[a1]
type=aor
max_contacts=-1

[x]
type=endpiont
",
    );
    let (objects, report) = open(&dir).await;
    let all = report.errors.join("\n");
    assert!(
        all.contains(
            "pjsip.conf:7: endpoint 'typo' option 'contxt': unknown option for type endpoint"
        ),
        "{all}"
    );
    assert!(all.contains("pjsip.conf:11: endpoint 'badbool' option 'direct_media': 'maybe' is not a boolean; accepted: yes, no"), "{all}");
    assert!(
        all.contains("pjsip.conf:15: endpoint 'badcodec' option 'allow': unknown codec 'speex99'"),
        "{all}"
    );
    assert!(
        all.contains("endpoint 'timers': timers_min_se 30 is below 90"),
        "{all}"
    );
    assert!(
        all.contains("registration 'reg': server_uri is required"),
        "{all}"
    );
    assert!(
        all.contains("pjsip.conf:27: aor 'a1' option 'max_contacts'"),
        "{all}"
    );
    assert_eq!(report.errors.len(), 6, "{all}");
    assert_eq!(report.dropped.get("endpoint"), Some(&4));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("unknown type 'endpiont'")),
        "{:?}",
        report.warnings
    );
    assert!(objects.endpoint.get("good").await.unwrap().is_some());
    assert_eq!(objects.endpoint.get_all().await.unwrap().len(), 1);
}

#[tokio::test]
async fn duplicate_names_fail_the_type_and_single_objects_stay_single() {
    let dir = Dir::new("dup");
    dir.write(
        "pjsip.conf",
        "\
[global]
type=global
default_realm=example.com
endpoint_identifier_order=username,ip

[system]
timer_t1=1000

[a]
type=aor
[a]
type=aor
[e]
type=endpoint
",
    );
    let (objects, report) = open(&dir).await;
    let all = report.errors.join("\n");
    assert!(all.contains("duplicate aor 'a'"), "{all}");
    assert!(objects.aor.get_all().await.unwrap().is_empty());
    assert!(
        objects.endpoint.get("e").await.unwrap().is_some(),
        "other types still load"
    );
    let g = objects.global.get("global").await.unwrap().unwrap();
    assert_eq!(&*g.default_realm, "example.com");
    let s = objects.system.get("system").await.unwrap().unwrap();
    assert_eq!(s.timer_t1, 1000, "[system] qualifies by its name alone");
    assert_eq!(s.timer_b, 64_000, "timer B raised to 64×T1");

    dir.write("pjsip.conf", "[g1]\ntype=global\n[g2]\ntype=global\n");
    let report = objects.reload();
    assert!(report
        .errors
        .join("")
        .contains("only one global object is allowed"));
    assert!(
        objects.global.get("global").await.unwrap().is_some(),
        "previous set kept"
    );
}

#[tokio::test]
async fn reload_keeps_identity_of_unchanged_objects_and_old_objects_of_a_bad_file() {
    let dir = Dir::new("reload");
    dir.write("pjsip.conf", BASIC);
    let (objects, _) = open(&dir).await;
    let e1 = objects.endpoint.get("6001").await.unwrap().unwrap();
    let a1 = objects.aor.get("6001").await.unwrap().unwrap();

    dir.write(
        "pjsip.conf",
        &BASIC.replace("max_contacts=1", "max_contacts=2"),
    );
    let report = objects.reload();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let e2 = objects.endpoint.get("6001").await.unwrap().unwrap();
    let a2 = objects.aor.get("6001").await.unwrap().unwrap();
    assert!(
        Arc::ptr_eq(&e1, &e2),
        "unchanged endpoint keeps its identity"
    );
    assert!(!Arc::ptr_eq(&a1, &a2));
    assert_eq!(a2.max_contacts, 2);
    assert_eq!(report.changes["aor"].changed, 1);
    assert_eq!(report.changes["aor"].unchanged, 1);

    // A broken file: nothing of it applies, the previous objects stay.
    dir.write(
        "pjsip.conf",
        "stray=value before any section\n[6001]\ntype=aor\n",
    );
    let report = objects.reload();
    assert!(
        report.errors.iter().any(|e| e.contains("pjsip.conf:1")),
        "{:?}",
        report.errors
    );
    assert_eq!(
        objects.aor.get("6001").await.unwrap().unwrap().max_contacts,
        2
    );

    // A bad object keeps its previous version; a removed one goes.
    dir.write(
        "pjsip.conf",
        &BASIC
            .replace("max_contacts=1", "max_contacts=lots")
            .replace("[6002]\ntype=aor", "[6003]\ntype=aor"),
    );
    let report = objects.reload();
    assert_eq!(report.changes["aor"].kept_previous, 1);
    assert_eq!(
        objects.aor.get("6001").await.unwrap().unwrap().max_contacts,
        2
    );
    assert!(objects.aor.get("6002").await.unwrap().is_none());
    assert!(objects.aor.get("6003").await.unwrap().is_some());
}

#[tokio::test]
async fn wizard_objects_join_the_file_objects() {
    let dir = Dir::new("wizard");
    dir.write("pjsip.conf", BASIC);
    dir.write(
        "pjsip_wizard.conf",
        "\
[user](!)
type=wizard
accepts_registrations=yes
accepts_auth=yes
transport=transport-udp
endpoint/context=default
endpoint/allow=ulaw
aor/max_contacts=1

[7001](user)
inbound_auth/username=7001
inbound_auth/password=secret

[trunk]
type=wizard
sends_auth=yes
sends_registrations=yes
remote_hosts=sip.example.com:5060
outbound_auth/username=acct
outbound_auth/password=pw
endpoint/context=from-trunk
",
    );
    let (objects, report) = open(&dir).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let e = objects.endpoint.get("7001").await.unwrap().unwrap();
    assert_eq!(&*e.auth, &["7001-iauth".into()] as &[sorcery::value::Text]);
    assert_eq!(e.meta.extended("pjsip_wizard"), Some("7001"));
    let a = objects.aor.get("7001").await.unwrap().unwrap();
    assert_eq!(a.max_contacts, 1);
    let auth = objects.auth.get("7001-iauth").await.unwrap().unwrap();
    assert_eq!(&*auth.password, "secret");
    let reg = objects
        .registration
        .get("trunk-reg-0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&*reg.server_uri, "sip:sip.example.com:5060");
    assert_eq!(&*reg.client_uri, "sip:acct@sip.example.com:5060");
    assert_eq!(
        &*reg.outbound_auth,
        &["trunk-oauth".into()] as &[sorcery::value::Text]
    );
    assert!(objects
        .identify
        .get("trunk-identify")
        .await
        .unwrap()
        .is_some());
    assert!(
        objects.endpoint.get("6001").await.unwrap().is_some(),
        "file objects still there"
    );

    // A wizard removed from the file takes all its objects with it on reload.
    dir.write(
        "pjsip_wizard.conf",
        "[7001]\ntype=wizard\naccepts_registrations=yes\n",
    );
    let report = objects.reload();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(objects
        .registration
        .get("trunk-reg-0")
        .await
        .unwrap()
        .is_none());
    assert!(objects.endpoint.get("trunk").await.unwrap().is_none());
    assert!(
        objects.auth.get("7001-iauth").await.unwrap().is_none(),
        "accepts_auth went off"
    );
    assert!(objects.endpoint.get("7001").await.unwrap().is_some());
}

#[tokio::test]
async fn integrity_file_rejects_the_whole_type_for_one_bad_object() {
    let dir = Dir::new("integrity");
    dir.write(
        "sorcery.conf",
        "[res_pjsip]\nendpoint=config,pjsip.conf,criteria=type=endpoint,integrity=file\n",
    );
    dir.write(
        "pjsip.conf",
        "[good]\ntype=endpoint\n[bad]\ntype=endpoint\ndirect_media=maybe\n[a]\ntype=aor\n",
    );
    let (objects, report) = open(&dir).await;
    let all = report.errors.join("\n");
    assert!(
        all.contains("endpoint 'bad' option 'direct_media'"),
        "{all}"
    );
    assert!(all.contains("integrity=file"), "{all}");
    assert!(objects.endpoint.get("good").await.unwrap().is_none());
    assert!(
        objects.aor.get("a").await.unwrap().is_some(),
        "other types unaffected"
    );
}

#[tokio::test]
async fn reload_keeps_the_objects_of_a_wizard_that_now_fails_and_of_a_missing_file() {
    let dir = Dir::new("reload-keep");
    dir.write("pjsip.conf", BASIC);
    let trunk = "[w]\ntype=wizard\nsends_auth=yes\nremote_hosts=192.0.2.1\noutbound_auth/username=u\noutbound_auth/password=p\n";
    dir.write("pjsip_wizard.conf", trunk);
    let (objects, report) = open(&dir).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(objects.auth.get("w-oauth").await.unwrap().is_some());

    // The operator breaks the wizard: its objects stay as they were.
    dir.write(
        "pjsip_wizard.conf",
        &trunk.replace("outbound_auth/username=u\n", ""),
    );
    let report = objects.reload();
    assert!(
        report.errors.iter().any(|e| e.contains("wizard 'w'")),
        "{:?}",
        report.errors
    );
    assert!(objects.endpoint.get("w").await.unwrap().is_some());
    assert!(objects.auth.get("w-oauth").await.unwrap().is_some());
    assert!(objects.identify.get("w-identify").await.unwrap().is_some());

    // pjsip.conf disappears (a rename, a half-done deployment): nothing is dropped.
    std::fs::remove_file(dir.path().join("pjsip.conf")).unwrap();
    let report = objects.reload();
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("pjsip.conf: not found")),
        "{:?}",
        report.errors
    );
    assert!(objects.endpoint.get("6001").await.unwrap().is_some());
    assert!(objects
        .transport
        .get("transport-udp")
        .await
        .unwrap()
        .is_some());
}

/// SIGHUP reloads (the daemon installs this; the test sends itself the signal).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads() {
    let dir = Dir::new("sighup");
    dir.write("pjsip.conf", BASIC);
    let (objects, _) = open(&dir).await;
    let objects = Arc::new(objects);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = sorcery::objects::reload_on_sighup(Arc::clone(&objects), move |r| {
        let _ = tx.send(r);
    })
    .expect("signal handler");
    dir.write(
        "pjsip.conf",
        &BASIC.replace("max_contacts=1", "max_contacts=3"),
    );
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let report = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("reloaded within 10 s")
        .expect("a report");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        objects.aor.get("6001").await.unwrap().unwrap().max_contacts,
        3
    );
    task.abort();
}

#[tokio::test]
async fn memory_cache_options_are_read_and_bad_ones_named() {
    let dir = Dir::new("cache-opts");
    dir.write(
        "sorcery.conf",
        "[res_pjsip]\nendpoint/cache=memory_cache,maximum_objects=5,object_lifetime_maximum=60,expire_on_reload=yes\n\
         endpoint=config,pjsip.conf,criteria=type=endpoint\n\
         aor/cache=memory_cache,maximum_objects=lots\naor=config,pjsip.conf,criteria=type=aor\n",
    );
    dir.write("pjsip.conf", BASIC);
    let (objects, report) = open(&dir).await;
    let policy = objects.endpoint.layers()[0].policy;
    assert!(objects.endpoint.layers()[0].cache);
    assert_eq!(policy.maximum_objects, 5);
    assert_eq!(policy.object_lifetime_maximum, 60);
    assert!(policy.expire_on_reload);
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("maximum_objects='lots'")),
        "{:?}",
        report.errors
    );
    assert!(objects.endpoint.get("6001").await.unwrap().is_some());
}
