//! sorcery.conf + extconfig.conf + switchboard.conf → the layers of each type.

use asterisk_conf::MemSource;
use sorcery::{load_mapping, Mapping, UnqualifiedFetch, Wizard};

fn config_of(m: &Mapping, t: &str) -> (String, Vec<(String, String)>, Option<String>, bool) {
    match &m.layers(t)[0].wizard {
        Wizard::Config {
            file,
            criteria,
            explicit_name,
            single_object,
            ..
        } => (
            file.clone(),
            criteria.clone(),
            explicit_name.clone(),
            *single_object,
        ),
        other => panic!("{t}: expected config, got {other:?}"),
    }
}

#[test]
fn without_files_everything_comes_from_pjsip_conf_and_contacts_go_to_the_local_store() {
    let m = load_mapping(&MemSource::new()).unwrap();
    assert_eq!(
        config_of(&m, "endpoint"),
        (
            "pjsip.conf".into(),
            vec![("type".into(), "endpoint".into())],
            None,
            false
        )
    );
    assert_eq!(
        config_of(&m, "global"),
        (
            "pjsip.conf".into(),
            vec![("type".into(), "global".into())],
            Some("global".into()),
            true
        )
    );
    assert_eq!(
        m.layers("contact")[0].wizard,
        Wizard::Astdb {
            prefix: "registrar".into()
        }
    );
    assert!(m.layers("contact")[0].origin.is_none());
    assert!(m.layers("nosuchtype").is_empty());
}

#[test]
fn the_realtime_tutorial_layout() {
    let src = MemSource::new()
        .with(
            "sorcery.conf",
            "[res_pjsip]\n\
             endpoint=realtime,ps_endpoints\n\
             auth=realtime,ps_auths\n\
             aor=realtime,ps_aors\n\
             domain_alias=realtime,ps_domain_aliases\n\
             contact=realtime,ps_contacts\n\
             [res_pjsip_endpoint_identifier_ip]\n\
             identify=realtime,ps_endpoint_id_ips\n",
        )
        .with(
            "extconfig.conf",
            "[settings]\n\
             ps_endpoints => odbc,asterisk\n\
             ps_auths => pgsql,asterisk\n\
             ps_aors => mysql,asterisk\n\
             ps_domain_aliases => sqlite3,asterisk\n\
             ps_contacts => odbc,asterisk\n\
             ps_endpoint_id_ips => odbc,asterisk,my_identify_table\n",
        )
        .with(
            "switchboard.conf",
            "[databases]\nasterisk = postgres://asterisk@127.0.0.1/asterisk\n",
        );
    let m = load_mapping(&src).unwrap();
    for (t, family, table) in [
        ("endpoint", "ps_endpoints", "ps_endpoints"),
        ("auth", "ps_auths", "ps_auths"),
        ("aor", "ps_aors", "ps_aors"),
        ("domain_alias", "ps_domain_aliases", "ps_domain_aliases"),
        ("contact", "ps_contacts", "ps_contacts"),
        ("identify", "ps_endpoint_id_ips", "my_identify_table"),
    ] {
        let layers = m.layers(t);
        assert_eq!(layers.len(), 1, "{t}");
        let Wizard::Realtime {
            family: f,
            connection,
            unqualified,
        } = &layers[0].wizard
        else {
            panic!("{t}: realtime expected")
        };
        assert_eq!((f.as_str(), connection.table.as_str()), (family, table));
        assert_eq!(connection.name, "asterisk");
        assert_eq!(connection.url, "postgres://asterisk@127.0.0.1/asterisk");
        assert_eq!(*unqualified, UnqualifiedFetch::Yes, "Asterisk's default");
    }
    // Types without a line keep their defaults.
    assert_eq!(config_of(&m, "transport").0, "pjsip.conf");
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
}

#[test]
fn layers_keep_file_order_and_cache_marks() {
    let src = MemSource::new()
        .with(
            "sorcery.conf",
            "[res_pjsip]\n\
             endpoint/cache=memory_cache,object_lifetime_maximum=60,expire_on_reload=yes\n\
             endpoint=realtime,ps_endpoints,allow_unqualified_fetch=warn\n\
             endpoint=config,pjsip.conf,criteria=type=endpoint,integrity=file\n",
        )
        .with(
            "extconfig.conf",
            "[settings]\nps_endpoints => sqlite3,local\n",
        )
        .with(
            "switchboard.conf",
            "[databases]\nlocal = sqlite:///var/lib/switchboard/realtime.db\n",
        );
    let m = load_mapping(&src).unwrap();
    let l = m.layers("endpoint");
    assert_eq!(l.len(), 3);
    assert!(l[0].cache && !l[1].cache && !l[2].cache);
    assert_eq!(
        l[0].wizard,
        Wizard::MemoryCache {
            options: vec![
                ("object_lifetime_maximum".into(), "60".into()),
                ("expire_on_reload".into(), "yes".into())
            ]
        }
    );
    assert!(matches!(
        &l[1].wizard,
        Wizard::Realtime { unqualified: UnqualifiedFetch::Warn, connection, .. } if connection.url.starts_with("sqlite:")
    ));
    assert!(matches!(
        &l[2].wizard,
        Wizard::Config {
            integrity_file: true,
            ..
        }
    ));
    assert_eq!(l[2].origin.as_ref().unwrap().to_string(), "sorcery.conf:4");
}

#[test]
fn every_problem_is_reported_with_file_and_line() {
    let src = MemSource::new()
        .with(
            "sorcery.conf",
            "[res_pjsip]\n\
             endpoint=realtime,ps_endpoints\n\
             auth=realtime,ps_auths\n\
             aor=frobnicate\n\
             contact/fast=memory\n\
             domain_alias=config\n\
             [res_pjsip_endpoint_identifier_ip]\n\
             endpoint=memory\n\
             widget=memory\n",
        )
        .with(
            "extconfig.conf",
            "[settings]\nps_auths => odbc,missing\nps_x => ldap,asterisk\n",
        )
        .with("switchboard.conf", "[databases]\nbad = ftp://example\n");
    let errors: Vec<String> = load_mapping(&src)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            "switchboard.conf:2: database 'bad': 'ftp://example' is not a sqlite://, postgres:// or mysql:// URL",
            "sorcery.conf:2: endpoint: realtime family 'ps_endpoints' has no line in extconfig.conf [settings] (e.g. ps_endpoints => odbc,asterisk)",
            "sorcery.conf:3: auth: connection 'missing' (for 'ps_auths') is not in switchboard.conf [databases] (e.g. missing = sqlite:///var/lib/switchboard/realtime.db)",
            "sorcery.conf:4: aor: unknown wizard 'frobnicate' (config, memory, astdb, realtime, memory_cache)",
            "sorcery.conf:5: contact/fast: unknown mapping option (only 'cache' exists)",
            "sorcery.conf:6: domain_alias: config needs a file name (config,pjsip.conf,...)",
        ]
    );
}

#[test]
fn misplaced_and_unknown_lines_are_warnings() {
    let src = MemSource::new().with(
        "sorcery.conf",
        "[res_pjsip_endpoint_identifier_ip]\nendpoint=memory\nidentify=memory\n[res_pjsip]\nwidget=memory\n",
    );
    let m = load_mapping(&src).unwrap();
    assert_eq!(
        m.warnings,
        [
            "sorcery.conf:2: 'endpoint' is mapped in [res_pjsip], not [res_pjsip_endpoint_identifier_ip]; line ignored",
            "sorcery.conf:5: unknown object type 'widget' ignored",
        ]
    );
    assert_eq!(m.layers("identify")[0].wizard, Wizard::Memory);
    assert_eq!(config_of(&m, "endpoint").0, "pjsip.conf");
}
