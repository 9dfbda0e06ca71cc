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
