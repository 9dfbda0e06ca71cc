//! Every rule of the format (shared/spec/pjsip-behaviour.md §1), on text held in memory,
//! plus loading from a real directory.

use asterisk_conf::{load, ConfError, Config, FsSource, LoadOptions, MemSource};
use proptest::prelude::*;

fn parse(text: &str) -> Result<Config, ConfError> {
    load(
        &MemSource::new().with("pjsip.conf", text),
        "pjsip.conf",
        &LoadOptions::default(),
    )
}

fn ok(text: &str) -> Config {
    parse(text).unwrap_or_else(|e| panic!("{e}"))
}

fn vars(c: &Config, section: usize) -> Vec<(String, String)> {
    c.sections[section]
        .vars
        .iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn sections_variables_and_origins() {
    let c = ok("\u{feff}; header comment\n\n[6001]\ntype = endpoint\ncontext=>from-internal\r\n  allow = ulaw ; trailing\n[6001]\ntype=aor\n");
    assert_eq!(c.sections.len(), 2, "same name, different objects");
    assert_eq!(
        vars(&c, 0),
        pairs(&[
            ("type", "endpoint"),
            ("context", "from-internal"),
            ("allow", "ulaw")
        ])
    );
    let v = c.sections[0].first("allow").unwrap();
    assert_eq!((v.origin.file.as_ref(), v.origin.line), ("pjsip.conf", 6));
    assert_eq!(c.sections[1].origin.line, 7);
    assert_eq!(c.sections_named("6001").count(), 2);
    assert!(c.warnings.is_empty());
}

#[test]
fn comments_escapes_and_blocks() {
    let c = ok("[s]\n\
        a = 1 ;-- inline --; b\n\
        ;-- a block\n\
        c = hidden\n\
        ;-- nested --;\n\
        still = hidden\n\
        --; d = 4\n\
        e = x\\;y ; comment\n\
        f = 1 ;--- plain comment\n");
    assert_eq!(
        vars(&c, 0),
        pairs(&[("a", "1  b"), ("d", "4"), ("e", "x;y"), ("f", "1")])
    );
}

#[test]
fn templates_inheritance_and_append() {
    let c = ok("[base](!)\ntype=endpoint\nallow=ulaw\ncontext=a\n\
        [codecs](!)\nallow=g722\n\
        [6001](BASE, codecs)\ncontext=b\n\
        [6001](+)\nmailboxes=6001@default\n");
    assert_eq!(c.objects().count(), 1);
    let s = c.objects().next().unwrap();
    assert_eq!(s.parents, ["BASE", "codecs"]);
    assert_eq!(
        vars(&c, 2),
        pairs(&[
            ("type", "endpoint"),
            ("allow", "ulaw"),
            ("context", "a"),
            ("allow", "g722"),
            ("context", "b"),
            ("mailboxes", "6001@default"),
        ])
    );
    assert_eq!(
        s.last("context").unwrap().value,
        "b",
        "the child's line wins"
    );
    assert_eq!(
        s.first("context").unwrap().origin.line,
        4,
        "inherited origin kept"
    );
    assert_eq!(s.all("allow").count(), 2, "accumulating options see both");
}

#[test]
fn plus_equals_appends_to_the_last_value() {
    let c = ok("[t](!)\nset_var=A=1\n[s](t)\nset_var+=,B\nnew+=x\n");
    assert_eq!(vars(&c, 1), pairs(&[("set_var", "A=1,B"), ("new", "x")]));
}

#[test]
fn fatal_errors_name_file_and_line() {
    for (text, line, words) in [
        (
            "type=endpoint\n[s]\n",
            1,
            "'type' appears before any [section]",
        ),
        (
            "[s]\n[t](nosuch)\n",
            2,
            "[t] inherits from 'nosuch', which is not defined above it",
        ),
        (
            "[s]\n[t](+)\n",
            2,
            "[t](+): no earlier section [t] to add to",
        ),
        ("[s\n", 1, "section header without ']'"),
        ("[]\n", 1, "section header with an empty name"),
        (
            "[s]\n#include missing.conf\n",
            2,
            "#include missing.conf: no such file",
        ),
        (
            "[s]\n\\ x=1\n",
            2,
            "a line cannot start with '\\' followed by nothing or a blank",
        ),
    ] {
        let e = parse(text).expect_err(text);
        assert_eq!(
            (e.origin.line, e.message.as_str()),
            (line, words),
            "{text:?}"
        );
        assert_eq!(e.to_string(), format!("pjsip.conf:{line}: {words}"));
    }
}

#[test]
fn skipped_lines_are_warnings() {
    let c = ok("[s]\nnovalue\n=x\n#frobnicate\n#exec /bin/true\n[t] junk\na=1\n");
    let w: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [
            "pjsip.conf:2: 'novalue' has no '=' and is ignored",
            "pjsip.conf:3: a variable without a name is ignored",
            "pjsip.conf:4: unknown directive #frobnicate ignored",
            "pjsip.conf:5: #exec /bin/true: not run (running commands from configuration is disabled)",
            "pjsip.conf:6: [t]: text after the section header is ignored",
        ]
    );
    assert_eq!(vars(&c, 1), pairs(&[("a", "1")]));
}

#[test]
fn includes_globs_and_depth() {
    let src = MemSource::new()
        .with("pjsip.conf", "[global]\ntype=global\n#include \"pjsip.d/*.conf\"\n#tryinclude <absent.conf>\n[last]\nx=1\n")
        .with("pjsip.d/a.conf", "[a]\ntype=endpoint\n")
        .with("pjsip.d/b.conf", "b_in_a_section=yes\n[b]\ntype=aor\n");
    let c = load(&src, "pjsip.conf", &LoadOptions::default()).unwrap();
    let names: Vec<&str> = c.sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["global", "a", "b", "last"]);
    // An included file continues the section that was open where it was included.
    assert_eq!(
        c.sections[1]
            .last("b_in_a_section")
            .unwrap()
            .origin
            .file
            .as_ref(),
        "pjsip.d/b.conf"
    );

    let looped = MemSource::new().with("a.conf", "[s]\n#include a.conf\n");
    let e = load(&looped, "a.conf", &LoadOptions::default()).unwrap_err();
    assert!(e.message.contains("includes nested deeper than 10"), "{e}");
}

#[test]
fn loads_from_a_directory() {
    let dir = std::env::temp_dir().join(format!("sb-conf-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("conf.d")).unwrap();
    std::fs::write(
        dir.join("pjsip.conf"),
        "[t](!)\nallow=ulaw\n#include conf.d/*.conf\n",
    )
    .unwrap();
    std::fs::write(dir.join("conf.d/1.conf"), "[6001](t)\ntype=endpoint\n").unwrap();
    std::fs::write(dir.join("conf.d/2.conf"), "[6002](t)\ntype=endpoint\n").unwrap();
    let c = load(&FsSource::new(&dir), "pjsip.conf", &LoadOptions::default()).unwrap();
    let names: Vec<&str> = c.objects().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["6001", "6002"]);
    let e = load(&FsSource::new(&dir), "nope.conf", &LoadOptions::default()).unwrap_err();
    assert!(e.message.starts_with("cannot read nope.conf"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn exec_runs_only_when_allowed() {
    let dir = std::env::temp_dir().join(format!("sb-conf-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // `;` starts a comment even in a directive, so the command separator is escaped.
    std::fs::write(dir.join("x.conf"), "#exec echo '[gen]'\\; echo 'a=1'\n").unwrap();
    let opts = LoadOptions {
        allow_exec: true,
        ..LoadOptions::default()
    };
    let c = load(&FsSource::new(&dir), "x.conf", &opts).unwrap();
    assert_eq!(vars(&c, 0), pairs(&[("a", "1")]));
    let c = load(&FsSource::new(&dir), "x.conf", &LoadOptions::default()).unwrap();
    assert!(c.sections.is_empty());
    assert_eq!(c.warnings.len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,400}") {
        let _ = parse(&text);
    }

    #[test]
    fn config_like_text_never_panics(lines in proptest::collection::vec(
        prop_oneof![
            "\\[[a-z!+(),]{0,8}\\]?(\\([a-z!+,]{0,8}\\)?)?",
            "[a-z]{0,5} ?\\+?=>? ?[a-z;\\\\-]{0,8}",
            ";--|--;|;---|\\\\;|\\\\ ",
            "#(include|tryinclude|exec|x) ?[a-z.*\"<>]{0,6}",
        ],
        0..30,
    )) {
        let _ = parse(&lines.join("\n"));
    }
}

#[test]
fn wizard_and_endpoint_examples_from_the_usual_documentation_shapes() {
    let wizard = ok("[user](!)\n\
        type = wizard\n\
        accepts_registrations = yes\n\
        accepts_auth = yes\n\
        endpoint/context = default\n\
        endpoint/allow = !all,ulaw\n\
        aor/max_contacts = 1\n\
        \n\
        [6001](user)\n\
        inbound_auth/username = 6001\n\
        inbound_auth/password = 6001pass\n\
        \n\
        [trunk](!)\n\
        type = wizard\n\
        sends_registrations = yes\n\
        sends_auth = yes\n\
        remote_hosts = sip.example.com:5060\n\
        \n\
        [mytrunk](trunk)\n\
        outbound_auth/username = acct\n\
        outbound_auth/password = secret\n");
    let names: Vec<&str> = wizard.objects().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["6001", "mytrunk"]);
    let u = wizard.objects().next().unwrap();
    assert_eq!(u.first("type").unwrap().value, "wizard");
    assert_eq!(u.last("endpoint/allow").unwrap().value, "!all,ulaw");
    assert_eq!(u.last("inbound_auth/password").unwrap().value, "6001pass");
    let t = wizard.objects().nth(1).unwrap();
    assert_eq!(
        t.last("remote_hosts").unwrap().value,
        "sip.example.com:5060"
    );

    let pjsip = ok("[transport-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0\n\
        [6001]\ntype=endpoint\ncontext=from-internal\ndisallow=all\nallow=ulaw\nauth=6001\naors=6001\n\
        [6001]\ntype=auth\nauth_type=userpass\npassword=6001\nusername=6001\n\
        [6001]\ntype=aor\nmax_contacts=1\nremove_existing=yes\n\
        [static-phone]\ntype=aor\ncontact=sip:phone@192.0.2.10:5060\n");
    let types: Vec<&str> = pjsip
        .objects()
        .map(|s| s.first("type").unwrap().value.as_str())
        .collect();
    assert_eq!(types, ["transport", "endpoint", "auth", "aor", "aor"]);
    let ep = &pjsip.sections[1];
    let codecs: Vec<&str> = ep
        .vars
        .iter()
        .filter(|v| v.name == "allow" || v.name == "disallow")
        .map(|v| v.value.as_str())
        .collect();
    assert_eq!(codecs, ["all", "ulaw"]);
}
