//! Every type's option table agrees with its realtime table, and every built-in
//! default is valid.

use sorcery::object::{defaults, fields, HasTables};
use sorcery::schema;
use sorcery::types::*;

fn compare<T: HasTables>(
    table: &str,
    only_in_options: &[&str],
    only_in_table: &[&str],
    out: &mut Vec<String>,
) {
    let object: T = defaults::<T>();
    let names: Vec<&str> = fields(&object).into_iter().map(|(n, _)| n).collect();
    let t = schema::table(table).unwrap_or_else(|| panic!("no table {table}"));
    let columns: Vec<&str> = t
        .columns
        .iter()
        .map(|c| c.name)
        .filter(|c| *c != "id")
        .collect();
    let mut extra: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !columns.contains(n))
        .collect();
    let mut missing: Vec<&str> = columns
        .iter()
        .copied()
        .filter(|c| !names.contains(c))
        .collect();
    extra.sort_unstable();
    missing.sort_unstable();
    if extra != only_in_options {
        out.push(format!(
            "{} options without a {table} column: {extra:?}",
            T::TYPE
        ));
    }
    if missing != only_in_table {
        out.push(format!(
            "{table} columns without a {} option: {missing:?}",
            T::TYPE
        ));
    }
}

#[test]
fn option_tables_match_the_realtime_schema() {
    let mut out = Vec::new();
    compare::<Endpoint>("ps_endpoints", &[], &[], &mut out);
    compare::<Aor>("ps_aors", &[], &[], &mut out);
    compare::<Auth>("ps_auths", &[], &[], &mut out);
    compare::<Contact>("ps_contacts", &[], &[], &mut out);
    // Asterisk has these transport options but no columns for them.
    compare::<Transport>(
        "ps_transports",
        &["ca_list_path", "websocket_write_timeout"],
        &[],
        &mut out,
    );
    compare::<Identify>("ps_endpoint_id_ips", &[], &[], &mut out);
    compare::<Registration>("ps_registrations", &[], &[], &mut out);
    compare::<DomainAlias>("ps_domain_aliases", &[], &[], &mut out);
    compare::<Global>("ps_globals", &[], &[], &mut out);
    compare::<System>("ps_systems", &[], &[], &mut out);
    compare::<ResourceList>("ps_resource_list", &[], &[], &mut out);
    assert!(out.is_empty(), "{}", out.join("\n"));
}

#[test]
fn every_default_is_valid() {
    let _ = defaults::<AclObject>();
    let _ = defaults::<PhoneProv>();
}

mod arbitrary_values {
    use asterisk_conf::Origin;
    use proptest::prelude::*;
    use sorcery::object::{build, HasTables, Object};
    use sorcery::raw::RawObject;
    use sorcery::types::*;

    fn raw<T: Object>(lines: &[(usize, String)]) -> RawObject {
        let mut r = RawObject::new(
            T::TYPE,
            "x",
            Origin {
                file: "p.conf".into(),
                line: 1,
            },
        );
        for (i, (opt, value)) in lines.iter().enumerate() {
            let names = T::options();
            let name = names[opt % names.len()].name;
            r.push(
                name,
                value,
                Origin {
                    file: "p.conf".into(),
                    line: i as u32 + 2,
                },
            );
        }
        r
    }

    /// Any value for any option either builds or names the line and option at fault;
    /// never a panic.
    fn check<T: HasTables>(lines: &[(usize, String)]) {
        let r = raw::<T>(lines);
        if let Err(e) = build::<T>(&r) {
            let text = e.to_string();
            assert!(text.contains(&format!("{} 'x'", T::TYPE)), "{text}");
            if let Some(opt) = &e.option {
                assert!(r.fields.iter().any(|f| &f.name == opt), "{text}");
            }
        }
    }

    fn values() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("yes".to_owned()),
            Just("0".to_owned()),
            Just("all".to_owned()),
            Just("!all,ulaw".to_owned()),
            Just("4294967296".to_owned()),
            Just("10.0.0.0/8".to_owned()),
            Just("sip:a@b".to_owned()),
            Just("MD5:0123456789abcdef0123456789abcdef".to_owned()),
            "[ -~]{0,24}",
            "\\PC{0,12}",
        ]
    }

    proptest! {
        #[test]
        fn no_value_panics_any_type(lines in proptest::collection::vec((any::<usize>(), values()), 0..12)) {
            check::<Endpoint>(&lines);
            check::<Aor>(&lines);
            check::<Auth>(&lines);
            check::<Contact>(&lines);
            check::<Transport>(&lines);
            check::<Identify>(&lines);
            check::<Registration>(&lines);
            check::<DomainAlias>(&lines);
            check::<AclObject>(&lines);
            check::<Global>(&lines);
            check::<System>(&lines);
            check::<ResourceList>(&lines);
            check::<PhoneProv>(&lines);
        }
    }
}
