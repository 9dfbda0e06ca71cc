//! pjsip_wizard.conf → generated endpoint/aor/auth/identify/registration/phoneprov
//! objects and hints (spec §3).

use asterisk_conf::{load, LoadOptions, MemSource};
use sorcery::raw::RawObject;
use sorcery::wizard::{expand, Expansion, Hint, WIZARD_TAG};

fn expand_text(text: &str) -> Expansion {
    let src = MemSource::new().with("pjsip_wizard.conf", text);
    let config = load(&src, "pjsip_wizard.conf", &LoadOptions::default()).unwrap();
    expand(&config)
}

/// (type, id) of every object, in order.
fn ids(e: &Expansion) -> Vec<(&str, &str)> {
    e.objects
        .iter()
        .map(|o| (o.object_type.as_str(), o.id.as_str()))
        .collect()
}

fn get<'a>(e: &'a Expansion, object_type: &str, id: &str) -> &'a RawObject {
    e.objects
        .iter()
        .find(|o| o.object_type == object_type && o.id == id)
        .unwrap_or_else(|| panic!("no {object_type} {id} in {:?}", ids(e)))
}

/// Every (name, value) field, in order.
fn fields(o: &RawObject) -> Vec<(&str, &str)> {
    o.fields
        .iter()
        .map(|v| (v.name.as_str(), v.value.as_str()))
        .collect()
}

fn all<'a>(o: &'a RawObject, name: &str) -> Vec<&'a str> {
    o.fields
        .iter()
        .filter(|v| v.name == name)
        .map(|v| v.value.as_str())
        .collect()
}

const USERS: &str = "\
[user](!)
type = wizard
accepts_registrations = yes
accepts_auth = yes
transport = transport-udp
endpoint/context = default
endpoint/allow = ulaw
aor/max_contacts = 1

[6001](user)
inbound_auth/username = 6001
inbound_auth/password = 6001
";

#[test]
fn a_user_from_a_template_becomes_endpoint_aor_and_inbound_auth() {
    let e = expand_text(USERS);
    assert_eq!(e.errors, vec![]);
    assert_eq!(e.hints, vec![]);
    assert_eq!(
        ids(&e),
        vec![
            ("endpoint", "6001"),
            ("aor", "6001"),
            ("auth", "6001-iauth")
        ]
    );

    let ep = get(&e, "endpoint", "6001");
    assert_eq!(
        fields(ep),
        vec![
            ("aors", "6001"),
            ("transport", "transport-udp"),
            ("auth", "6001-iauth"),
            ("context", "default"),
            ("allow", "ulaw"),
            (WIZARD_TAG, "6001"),
        ]
    );
    // The object is declared at the wizard's header; generated lines point at the
    // template line that caused them, pass-through lines keep their own.
    assert_eq!(ep.origin.to_string(), "pjsip_wizard.conf:10");
    assert_eq!(ep.fields[0].origin.to_string(), "pjsip_wizard.conf:10");
    assert_eq!(ep.fields[1].origin.to_string(), "pjsip_wizard.conf:5");
    assert_eq!(ep.fields[2].origin.to_string(), "pjsip_wizard.conf:4");
    assert_eq!(ep.fields[3].origin.to_string(), "pjsip_wizard.conf:6");

    let aor = get(&e, "aor", "6001");
    assert_eq!(
        fields(aor),
        vec![("max_contacts", "1"), (WIZARD_TAG, "6001")]
    );
    assert_eq!(aor.last("contact"), None);

    let auth = get(&e, "auth", "6001-iauth");
    assert_eq!(
        fields(auth),
        vec![
            ("auth_type", "userpass"),
            ("username", "6001"),
            ("password", "6001"),
            (WIZARD_TAG, "6001"),
        ]
    );
    assert_eq!(auth.fields[1].origin.to_string(), "pjsip_wizard.conf:11");
}

const TRUNK: &str = "\
[trunk]
type = wizard
sends_auth = yes
sends_registrations = yes
remote_hosts = sip.example.com:5060, sip2.example.com
outbound_auth/username = acct
outbound_auth/password = secret
endpoint/context = from-trunk
";

#[test]
fn a_registering_trunk_gets_contacts_identify_and_one_registration_per_host() {
    let e = expand_text(TRUNK);
    assert_eq!(e.errors, vec![]);
    assert_eq!(
        ids(&e),
        vec![
            ("endpoint", "trunk"),
            ("aor", "trunk"),
            ("auth", "trunk-oauth"),
            ("identify", "trunk-identify"),
            ("registration", "trunk-reg-0"),
            ("registration", "trunk-reg-1"),
        ]
    );

    assert_eq!(
        fields(get(&e, "endpoint", "trunk")),
        vec![
            ("aors", "trunk"),
            ("outbound_auth", "trunk-oauth"),
            ("context", "from-trunk"),
            (WIZARD_TAG, "trunk"),
        ]
    );

    let aor = get(&e, "aor", "trunk");
    assert_eq!(
        all(aor, "contact"),
        vec!["sip:sip.example.com:5060", "sip:sip2.example.com"]
    );
    assert_eq!(aor.last("max_contacts"), None);
    assert_eq!(aor.fields[0].origin.to_string(), "pjsip_wizard.conf:5");

    assert_eq!(
        fields(get(&e, "auth", "trunk-oauth")),
        vec![
            ("auth_type", "userpass"),
            ("username", "acct"),
            ("password", "secret"),
            (WIZARD_TAG, "trunk"),
        ]
    );

    let identify = get(&e, "identify", "trunk-identify");
    assert_eq!(identify.last("endpoint"), Some("trunk"));
    assert_eq!(
        all(identify, "match"),
        vec!["sip.example.com", "sip2.example.com"]
    );

    let reg0 = get(&e, "registration", "trunk-reg-0");
    assert_eq!(
        fields(reg0),
        vec![
            ("server_uri", "sip:sip.example.com:5060"),
            ("client_uri", "sip:acct@sip.example.com:5060"),
            ("outbound_auth", "trunk-oauth"),
            (WIZARD_TAG, "trunk"),
        ]
    );
    let reg1 = get(&e, "registration", "trunk-reg-1");
    assert_eq!(reg1.last("server_uri"), Some("sip:sip2.example.com"));
    assert_eq!(reg1.last("client_uri"), Some("sip:acct@sip2.example.com"));
    assert_eq!(reg1.last("line"), None);
    assert_eq!(reg1.last("endpoint"), None);
}

#[test]
fn patterns_transport_proxy_and_pass_through_overrides() {
    let e = expand_text(
        "[itsp]\n\
         type = wizard\n\
         sends_registrations = yes\n\
         remote_hosts = 192.0.2.10:5070\n\
         transport = t-tcp\n\
         outbound_proxy = sip:proxy.example.com\\;lr\n\
         server_uri_pattern = sips:${REMOTE_HOST}\n\
         client_uri_pattern = sip:${USERNAME}-x@${REMOTE_HOST}\n\
         contact_pattern = sip:peer@${REMOTE_HOST}\n\
         registration/expiration = 600\n\
         registration/transport = t-tls\n\
         identify/match = 192.0.2.0/24\n\
         aor/qualify_frequency = 30\n",
    );
    assert_eq!(e.errors, vec![]);
    let ep = get(&e, "endpoint", "itsp");
    assert_eq!(ep.last("transport"), Some("t-tcp"));
    assert_eq!(ep.last("outbound_proxy"), Some("sip:proxy.example.com;lr"));
    assert_eq!(ep.last("outbound_auth"), None);

    let aor = get(&e, "aor", "itsp");
    assert_eq!(
        fields(aor),
        vec![
            ("contact", "sip:peer@192.0.2.10:5070"),
            ("outbound_proxy", "sip:proxy.example.com;lr"),
            ("qualify_frequency", "30"),
            (WIZARD_TAG, "itsp"),
        ]
    );

    // identify/match replaces the generated matches.
    assert_eq!(
        all(get(&e, "identify", "itsp-identify"), "match"),
        vec!["192.0.2.0/24"]
    );

    // Without sends_auth the username is the wizard's name; pass-through comes after
    // the generated lines, so registration/transport wins.
    let reg = get(&e, "registration", "itsp-reg-0");
    assert_eq!(
        fields(reg),
        vec![
            ("server_uri", "sips:192.0.2.10:5070"),
            ("client_uri", "sip:itsp-x@192.0.2.10:5070"),
            ("transport", "t-tcp"),
            ("outbound_proxy", "sip:proxy.example.com;lr"),
            ("expiration", "600"),
            ("transport", "t-tls"),
            (WIZARD_TAG, "itsp"),
        ]
    );
    assert_eq!(reg.last("transport"), Some("t-tls"));
}

#[test]
fn aor_contact_pass_through_replaces_the_generated_contacts() {
    let e = expand_text(
        "[p]\ntype=wizard\nremote_hosts=a.example.com,b.example.com\n\
         aor/contact=sip:x@c.example.com\naor/contact=sip:y@d.example.com\n",
    );
    assert_eq!(e.errors, vec![]);
    assert_eq!(
        all(get(&e, "aor", "p"), "contact"),
        vec!["sip:x@c.example.com", "sip:y@d.example.com"]
    );
    // The identify still matches the remote hosts.
    assert_eq!(
        all(get(&e, "identify", "p-identify"), "match"),
        vec!["a.example.com", "b.example.com"]
    );
}

#[test]
fn a_line_registration_ties_the_endpoint_and_needs_no_identify() {
    let e = expand_text(
        "[line]\n\
         type = wizard\n\
         sends_auth = yes\n\
         sends_registrations = yes\n\
         sends_line_with_registrations = yes\n\
         remote_hosts = pbx.example.com\n\
         outbound_auth/username = 100\n\
         outbound_auth/password = pw\n\
         outbound_auth/auth_type = md5\n",
    );
    assert_eq!(e.errors, vec![]);
    assert_eq!(
        ids(&e),
        vec![
            ("endpoint", "line"),
            ("aor", "line"),
            ("auth", "line-oauth"),
            ("registration", "line-reg-0"),
        ]
    );
    let reg = get(&e, "registration", "line-reg-0");
    assert_eq!(
        fields(reg),
        vec![
            ("server_uri", "sip:pbx.example.com"),
            ("client_uri", "sip:100@pbx.example.com"),
            ("outbound_auth", "line-oauth"),
            ("line", "yes"),
            ("endpoint", "line"),
            (WIZARD_TAG, "line"),
        ]
    );
    assert_eq!(reg.fields[3].origin.to_string(), "pjsip_wizard.conf:5");
    // An auth_type given is not overridden by the default.
    assert_eq!(all(get(&e, "auth", "line-oauth"), "auth_type"), vec!["md5"]);
}

#[test]
fn phoneprov_and_hint() {
    let e = expand_text(
        "[myphone]\n\
         type = wizard\n\
         accepts_auth = yes\n\
         accepts_registrations = yes\n\
         has_phoneprov = yes\n\
         has_hint = yes\n\
         hint_exten = 1000\n\
         inbound_auth/username = testname\n\
         inbound_auth/password = test password\n\
         endpoint/context = phones\n\
         phoneprov/MAC = 001122aa4455\n\
         phoneprov/PROFILE = profile1\n",
    );
    assert_eq!(e.errors, vec![]);
    assert_eq!(
        ids(&e),
        vec![
            ("endpoint", "myphone"),
            ("aor", "myphone"),
            ("auth", "myphone-iauth"),
            ("phoneprov", "myphone-phoneprov"),
        ]
    );
    assert_eq!(
        fields(get(&e, "phoneprov", "myphone-phoneprov")),
        vec![
            ("endpoint", "myphone"),
            ("MAC", "001122aa4455"),
            ("PROFILE", "profile1"),
            (WIZARD_TAG, "myphone"),
        ]
    );
    // hint_context defaults to the endpoint's context.
    assert_eq!(
        e.hints,
        vec![Hint {
            wizard: "myphone".into(),
            exten: "1000".into(),
            context: "phones".into(),
            application: None,
        }]
    );
}

#[test]
fn hint_context_and_application() {
    let e = expand_text(
        "[a]\ntype=wizard\naccepts_registrations=yes\nhas_hint=yes\nhint_exten=200\n\
         hint_context=hints\nhint_application=Dial(PJSIP/a)\nendpoint/context=x\n\
         [b]\ntype=wizard\naccepts_registrations=yes\nhas_hint=on\nhint_exten=201\n\
         [c]\ntype=wizard\naccepts_registrations=yes\nhas_hint=no\nhint_exten=202\n",
    );
    assert_eq!(e.errors, vec![]);
    assert_eq!(
        e.hints,
        vec![
            Hint {
                wizard: "a".into(),
                exten: "200".into(),
                context: "hints".into(),
                application: Some("Dial(PJSIP/a)".into()),
            },
            Hint {
                wizard: "b".into(),
                exten: "201".into(),
                context: "default".into(),
                application: None,
            },
        ]
    );
}

#[test]
fn scalar_options_last_wins_and_booleans_are_case_insensitive() {
    let e = expand_text(
        "[t](!)\ntype=wizard\naccepts_auth=TRUE\ntransport=one\nremote_hosts=h1\n\
         [w](t)\naccepts_auth=Off\ntransport=two\nremote_hosts=h2\n",
    );
    assert_eq!(e.errors, vec![]);
    assert_eq!(
        ids(&e),
        vec![("endpoint", "w"), ("aor", "w"), ("identify", "w-identify")]
    );
    let ep = get(&e, "endpoint", "w");
    assert_eq!(all(ep, "transport"), vec!["two"]);
    assert_eq!(ep.last("auth"), None);
    assert_eq!(all(get(&e, "aor", "w"), "contact"), vec!["sip:h2"]);
}

#[test]
fn only_wizard_sections_expand() {
    let e = expand_text(
        "[t](!)\ntype=wizard\nremote_hosts=h\n\
         [notwizard]\ntype=endpoint\nfoo=bar\n\
         [upper]\ntype=Wizard\nfoo=bar\n\
         [second]\ntype=endpoint\ntype=wizard\n\
         [none]\nremote_hosts=h\n",
    );
    assert_eq!(e.errors, vec![]);
    assert_eq!(e.objects, vec![]);
}

const BROKEN_AND_GOOD: &str = "\
[good]
type = wizard
remote_hosts = 192.0.2.1

[noiuser]
type = wizard
accepts_registrations = yes
accepts_auth = yes
inbound_auth/password = x

[badbool]
type = wizard
accepts_registrations = yes
sends_auth = maybe

[unknown]
type = wizard
accepts_registrations = yes
aors = x

[noremote]
type = wizard
accepts_registrations = yes
sends_registrations = yes

[noidentifyhosts]
type = wizard

[nomac]
type = wizard
accepts_registrations = yes
has_phoneprov = yes
phoneprov/PROFILE = p

[nooauser]
type = wizard
sends_auth = yes
remote_hosts = h

[good2]
type = wizard
accepts_registrations = yes
";

#[test]
fn a_broken_wizard_makes_nothing_and_the_others_still_expand() {
    let e = expand_text(BROKEN_AND_GOOD);
    assert_eq!(
        ids(&e),
        vec![
            ("endpoint", "good"),
            ("aor", "good"),
            ("identify", "good-identify"),
            ("endpoint", "good2"),
            ("aor", "good2"),
        ]
    );
    let errs: Vec<(String, &str)> = e
        .errors
        .iter()
        .map(|e| (e.origin.to_string(), e.wizard.as_str()))
        .collect();
    assert_eq!(
        errs,
        vec![
            ("pjsip_wizard.conf:8".to_string(), "noiuser"),
            ("pjsip_wizard.conf:14".to_string(), "badbool"),
            ("pjsip_wizard.conf:19".to_string(), "unknown"),
            ("pjsip_wizard.conf:24".to_string(), "noremote"),
            ("pjsip_wizard.conf:26".to_string(), "noidentifyhosts"),
            ("pjsip_wizard.conf:32".to_string(), "nomac"),
            ("pjsip_wizard.conf:37".to_string(), "nooauser"),
        ]
    );
    let msg = |w: &str| {
        e.errors
            .iter()
            .find(|e| e.wizard == w)
            .map(|e| e.message.clone())
            .unwrap()
    };
    assert!(
        msg("noiuser").contains("inbound_auth/username"),
        "{}",
        msg("noiuser")
    );
    assert!(msg("badbool").contains("'maybe'"));
    assert!(msg("badbool").contains("yes, no, true, false, on, off, 1, 0"));
    assert!(msg("unknown").contains("unknown option 'aors'"));
    assert!(msg("unknown").contains("endpoint/…"));
    assert!(msg("noremote").contains("remote_hosts"));
    assert!(msg("noidentifyhosts").contains("remote_hosts"));
    assert!(msg("nomac").contains("phoneprov/MAC"));
    assert!(msg("nooauser").contains("outbound_auth/username"));
    assert_eq!(
        e.errors[1].to_string(),
        format!(
            "pjsip_wizard.conf:14: wizard 'badbool': {}",
            e.errors[1].message
        )
    );
}

#[test]
fn an_error_in_a_template_is_reported_for_each_wizard_using_it() {
    let e = expand_text(
        "[t](!)\ntype=wizard\naccepts_registrations=yes\nbogus=1\n\
         [a](t)\n[b](t)\n",
    );
    assert_eq!(e.objects, vec![]);
    let errs: Vec<(String, &str)> = e
        .errors
        .iter()
        .map(|e| (e.origin.to_string(), e.wizard.as_str()))
        .collect();
    assert_eq!(
        errs,
        vec![
            ("pjsip_wizard.conf:4".to_string(), "a"),
            ("pjsip_wizard.conf:4".to_string(), "b"),
        ]
    );
}

#[test]
fn a_hint_is_not_made_for_a_broken_wizard() {
    let e = expand_text(
        "[x]\ntype=wizard\naccepts_registrations=yes\naccepts_auth=yes\nhas_hint=yes\nhint_exten=5\n",
    );
    assert_eq!(e.objects, vec![]);
    assert_eq!(e.hints, vec![]);
    assert_eq!(e.errors.len(), 1);
}

#[test]
fn wizards_sharing_a_name_are_refused() {
    let e = expand_text(
        "[dup]\ntype=wizard\naccepts_registrations=yes\n\
         [ok]\ntype=wizard\naccepts_registrations=yes\n\
         [dup]\ntype=wizard\naccepts_registrations=yes\n",
    );
    assert_eq!(ids(&e), vec![("endpoint", "ok"), ("aor", "ok")]);
    let errs: Vec<String> = e.errors.iter().map(ToString::to_string).collect();
    assert_eq!(errs.len(), 2);
    assert!(errs[0].starts_with("pjsip_wizard.conf:1: wizard 'dup'"));
    assert!(errs[0].contains("pjsip_wizard.conf:7"));
    assert!(errs[1].starts_with("pjsip_wizard.conf:7: wizard 'dup'"));
    assert!(errs[1].contains("pjsip_wizard.conf:1"));
}

#[test]
fn pass_through_must_name_an_option() {
    let e = expand_text("[x]\ntype=wizard\naccepts_registrations=yes\nendpoint/=1\naor/type=aor\n");
    assert_eq!(e.objects, vec![]);
    let lines: Vec<u32> = e.errors.iter().map(|e| e.origin.line).collect();
    assert_eq!(lines, vec![4, 5]);
}

#[test]
fn ipv6_remote_hosts() {
    let e = expand_text("[v6]\ntype=wizard\nremote_hosts=[2001:db8::1]:5060\n");
    assert_eq!(e.errors, vec![]);
    assert_eq!(
        all(get(&e, "aor", "v6"), "contact"),
        vec!["sip:[2001:db8::1]:5060"]
    );
    assert_eq!(
        all(get(&e, "identify", "v6-identify"), "match"),
        vec!["2001:db8::1"]
    );
}
