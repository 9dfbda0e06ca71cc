//! The configuration wizard (`pjsip_wizard.conf`, spec §3): one `type = wizard` section
//! stands for the endpoint, aor, auths, identify, registrations and phoneprov object a
//! phone or a trunk usually needs. This module turns each wizard into those objects as
//! [`RawObject`]s, so they go through the same typed parsing as objects written out in
//! `pjsip.conf`, and into dialplan [`Hint`]s.
//!
//! It is pure: it reads an already parsed [`Config`] (templates already copied in by the
//! parser) and returns everything it made, plus an error for each wizard it refused. A
//! refused wizard makes nothing at all, so a half-built trunk never goes live; the other
//! wizards are unaffected.
//!
//! Every generated option line carries the origin of the wizard line that caused it (or
//! of the section header), so an error found later in the typed layer still points the
//! operator at the line they wrote.

use std::collections::HashMap;
use std::fmt;

use asterisk_conf::{Config, Origin, Section, Var};

use crate::raw::RawObject;

/// The extended field every generated object carries, naming its wizard: a reload uses
/// it to find (and delete) what a wizard made, and it tells an operator where an object
/// they never wrote came from.
pub const WIZARD_TAG: &str = "@pjsip_wizard";

/// What [`expand`] made of a configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The generated objects: wizards in file order; within a wizard endpoint, aor,
    /// inbound auth, outbound auth, identify, registrations, phoneprov. A stable order
    /// keeps reloads and exports comparable.
    pub objects: Vec<RawObject>,
    /// Dialplan hints asked for with `has_hint = yes`, in wizard order.
    pub hints: Vec<Hint>,
    /// One entry per problem; a wizard named here made no objects and no hint.
    pub errors: Vec<WizardError>,
}

/// A dialplan hint `PJSIP/<wizard>` a wizard asks for, so that presence subscriptions
/// to the extension follow the endpoint's state without writing extensions.conf.
/// Both `has_hint = yes` and a `hint_exten` are needed; either alone makes no hint
/// (and is not an error, since a template may set one and the wizard the other).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// The wizard (and endpoint) name; the hint's device is `PJSIP/<wizard>`.
    pub wizard: String,
    /// The extension the hint lives at (`hint_exten`).
    pub exten: String,
    /// The dialplan context: `hint_context`, else the endpoint's `context`, else
    /// `default`, so the hint sits where the phone's own calls land.
    pub context: String,
    /// `hint_application`: when set, a priority-1 extension running it is added next to
    /// the hint, so the extension is also dialable.
    pub application: Option<String>,
}

/// Why a wizard was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WizardError {
    /// The offending line, or the section header when no single line is to blame.
    pub origin: Origin,
    /// The wizard's section name.
    pub wizard: String,
    /// What is wrong, in words, naming the accepted values where that helps.
    pub message: String,
}

impl fmt::Display for WizardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: wizard '{}': {}",
            self.origin, self.wizard, self.message
        )
    }
}

impl std::error::Error for WizardError {}

/// The object kinds a wizard can pass options through to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Endpoint,
    Aor,
    InboundAuth,
    OutboundAuth,
    Identify,
    Registration,
    Phoneprov,
}

const KINDS: usize = 7;

/// Pass-through prefixes, in the order the error message lists them.
const PREFIXES: [(&str, Kind); KINDS] = [
    ("endpoint/", Kind::Endpoint),
    ("aor/", Kind::Aor),
    ("inbound_auth/", Kind::InboundAuth),
    ("outbound_auth/", Kind::OutboundAuth),
    ("identify/", Kind::Identify),
    ("registration/", Kind::Registration),
    ("phoneprov/", Kind::Phoneprov),
];

const BOOLEAN_VALUES: &str = "yes, no, true, false, on, off, 1, 0";

const STRING_OPTIONS: &[&str] = &[
    "transport",
    "remote_hosts",
    "outbound_proxy",
    "server_uri_pattern",
    "client_uri_pattern",
    "contact_pattern",
    "hint_context",
    "hint_exten",
    "hint_application",
];

const BOOLEAN_OPTIONS: &[&str] = &[
    "sends_auth",
    "accepts_auth",
    "sends_registrations",
    "sends_line_with_registrations",
    "accepts_registrations",
    "has_phoneprov",
    "has_hint",
];

const DEFAULT_SERVER_URI: &str = "sip:${REMOTE_HOST}";
const DEFAULT_CLIENT_URI: &str = "sip:${USERNAME}@${REMOTE_HOST}";
const DEFAULT_CONTACT: &str = "sip:${REMOTE_HOST}";

fn parse_bool(value: &str) -> Option<bool> {
    const TRUE: [&str; 4] = ["yes", "true", "on", "1"];
    const FALSE: [&str; 4] = ["no", "false", "off", "0"];
    if TRUE.iter().any(|t| value.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|f| value.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

/// A wizard section read into its options, before anything is generated.
struct Wizard<'a> {
    name: &'a str,
    header: &'a Origin,
    /// Last line of each string option (empty values count as unset).
    strings: HashMap<&'static str, &'a Var>,
    /// Last line of each boolean option, with its value.
    flags: HashMap<&'static str, (bool, &'a Var)>,
    /// Pass-through lines per kind, in order, with the prefix removed from the name.
    pass: [Vec<Var>; KINDS],
    errors: Vec<WizardError>,
}

impl<'a> Wizard<'a> {
    fn read(section: &'a Section) -> Wizard<'a> {
        let mut w = Wizard {
            name: &section.name,
            header: &section.origin,
            strings: HashMap::new(),
            flags: HashMap::new(),
            pass: Default::default(),
            errors: Vec::new(),
        };
        for var in &section.vars {
            w.read_var(var);
        }
        w
    }

    fn error(&mut self, origin: &Origin, message: String) {
        self.errors.push(WizardError {
            origin: origin.clone(),
            wizard: self.name.to_owned(),
            message,
        });
    }

    fn read_var(&mut self, var: &'a Var) {
        let name = var.name.as_str();
        // `type` chose the section; extended `@` fields are free on every sorcery
        // object and mean nothing to the expansion.
        if name == "type" || name.starts_with('@') {
            return;
        }
        if let Some((prefix, kind)) = PREFIXES.iter().find(|(p, _)| name.starts_with(p)) {
            let option = &name[prefix.len()..];
            if option.is_empty() {
                self.error(
                    &var.origin,
                    format!("'{name}' names no option after the '/'"),
                );
            } else if option == "type" {
                self.error(
                    &var.origin,
                    format!("'{name}': the type of a generated object cannot be changed"),
                );
            } else {
                self.pass[*kind as usize].push(Var {
                    name: option.to_owned(),
                    value: var.value.clone(),
                    origin: var.origin.clone(),
                });
            }
            return;
        }
        if let Some(key) = STRING_OPTIONS.iter().find(|k| **k == name) {
            if var.value.is_empty() {
                self.strings.remove(key);
            } else {
                self.strings.insert(*key, var);
            }
            return;
        }
        if let Some(key) = BOOLEAN_OPTIONS.iter().find(|k| **k == name) {
            match parse_bool(&var.value) {
                Some(b) => {
                    self.flags.insert(*key, (b, var));
                }
                None => self.error(
                    &var.origin,
                    format!(
                        "{name} = '{}' is not a boolean (accepted: {BOOLEAN_VALUES})",
                        var.value
                    ),
                ),
            }
            return;
        }
        let prefixes: Vec<String> = PREFIXES.iter().map(|(p, _)| format!("{p}…")).collect();
        self.error(
            &var.origin,
            format!(
                "unknown option '{name}' (wizard options: type, {}, {}; or pass an option \
                 through with {})",
                STRING_OPTIONS.join(", "),
                BOOLEAN_OPTIONS.join(", "),
                prefixes.join(", ")
            ),
        );
    }

    fn string(&self, key: &str) -> Option<&'a Var> {
        self.strings.get(key).copied()
    }

    fn flag(&self, key: &str) -> Option<&'a Var> {
        match self.flags.get(key) {
            Some((true, var)) => Some(*var),
            _ => None,
        }
    }

    fn pass(&self, kind: Kind) -> &[Var] {
        &self.pass[kind as usize]
    }

    /// The last non-empty pass-through value of `option` for `kind`.
    fn pass_value(&self, kind: Kind, option: &str) -> Option<&str> {
        self.pass(kind)
            .iter()
            .rev()
            .find(|v| v.name == option)
            .map(|v| v.value.as_str())
            .filter(|v| !v.is_empty())
    }

    fn pattern(&self, key: &str, default: &'static str) -> String {
        self.string(key)
            .map_or(default, |v| v.value.as_str())
            .to_owned()
    }

    /// The remote hosts, with the line they came from.
    fn remote_hosts(&self) -> Option<(Vec<&'a str>, &'a Origin)> {
        let var = self.string("remote_hosts")?;
        let hosts: Vec<&str> = var
            .value
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        (!hosts.is_empty()).then_some((hosts, &var.origin))
    }

    /// Checks the requirements that depend on several options together.
    fn check(&mut self) {
        let header = self.header.clone();
        if let Some(var) = self.flag("accepts_auth") {
            if self.pass_value(Kind::InboundAuth, "username").is_none() {
                let origin = var.origin.clone();
                self.error(
                    &origin,
                    "accepts_auth = yes needs inbound_auth/username".to_owned(),
                );
            }
        }
        if let Some(var) = self.flag("sends_auth") {
            if self.pass_value(Kind::OutboundAuth, "username").is_none() {
                let origin = var.origin.clone();
                self.error(
                    &origin,
                    "sends_auth = yes needs outbound_auth/username".to_owned(),
                );
            }
        }
        let has_hosts = self.remote_hosts().is_some();
        if self.wants_identify() && !has_hosts {
            self.error(
                &header,
                "remote_hosts is needed to build the identify object (or set \
                 accepts_registrations = yes or sends_line_with_registrations = yes \
                 when the peer registers instead)"
                    .to_owned(),
            );
        }
        if let Some(var) = self.flag("sends_registrations") {
            if !has_hosts {
                let origin = var.origin.clone();
                self.error(
                    &origin,
                    "sends_registrations = yes needs remote_hosts to register to".to_owned(),
                );
            }
        }
        if let Some(var) = self.flag("has_phoneprov") {
            if self.pass_value(Kind::Phoneprov, "MAC").is_none() {
                let origin = var.origin.clone();
                self.error(
                    &origin,
                    "has_phoneprov = yes needs phoneprov/MAC".to_owned(),
                );
            }
        }
    }

    fn wants_identify(&self) -> bool {
        self.flag("accepts_registrations").is_none()
            && self.flag("sends_line_with_registrations").is_none()
    }

    /// A new object of this wizard, declared at the section header.
    fn object(&self, object_type: &str, id: &str) -> RawObject {
        RawObject::new(object_type, id, self.header.clone())
    }

    /// Appends the pass-through lines of `kind` and the wizard tag: pass-through after
    /// the generated lines so it overrides them, the tag last so nothing overrides it.
    fn finish(&self, mut object: RawObject, kind: Kind) -> RawObject {
        object.fields.extend(self.pass(kind).iter().cloned());
        object.push(WIZARD_TAG, self.name, self.header.clone());
        object
    }

    fn generate(&self, out: &mut Expansion) {
        let name = self.name;
        let iauth = format!("{name}-iauth");
        let oauth = format!("{name}-oauth");
        let transport = self.string("transport");
        let proxy = self.string("outbound_proxy");
        let sends_auth = self.flag("sends_auth");
        let accepts_auth = self.flag("accepts_auth");
        let hosts = self.remote_hosts();

        let mut endpoint = self.object("endpoint", name);
        endpoint.push("aors", name, self.header.clone());
        for var in [transport, proxy].into_iter().flatten() {
            endpoint.push(&var.name, &var.value, var.origin.clone());
        }
        if let Some(var) = sends_auth {
            endpoint.push("outbound_auth", &oauth, var.origin.clone());
        }
        if let Some(var) = accepts_auth {
            endpoint.push("auth", &iauth, var.origin.clone());
        }
        out.objects.push(self.finish(endpoint, Kind::Endpoint));

        let mut aor = self.object("aor", name);
        if !self.pass(Kind::Aor).iter().any(|v| v.name == "contact") {
            if let Some((hosts, origin)) = &hosts {
                let pattern = self.pattern("contact_pattern", DEFAULT_CONTACT);
                for host in hosts {
                    let contact = pattern.replace("${REMOTE_HOST}", host);
                    aor.push("contact", &contact, (*origin).clone());
                }
            }
        }
        if let Some(var) = proxy {
            aor.push(&var.name, &var.value, var.origin.clone());
        }
        out.objects.push(self.finish(aor, Kind::Aor));

        for (flag, id, kind) in [
            (accepts_auth, &iauth, Kind::InboundAuth),
            (sends_auth, &oauth, Kind::OutboundAuth),
        ] {
            if let Some(var) = flag {
                let mut auth = self.object("auth", id);
                if !self.pass(kind).iter().any(|v| v.name == "auth_type") {
                    auth.push("auth_type", "userpass", var.origin.clone());
                }
                out.objects.push(self.finish(auth, kind));
            }
        }

        if self.wants_identify() {
            let mut identify = self.object("identify", &format!("{name}-identify"));
            identify.push("endpoint", name, self.header.clone());
            if !self.pass(Kind::Identify).iter().any(|v| v.name == "match") {
                if let Some((hosts, origin)) = &hosts {
                    for host in hosts {
                        identify.push("match", host_part(host), (*origin).clone());
                    }
                }
            }
            out.objects.push(self.finish(identify, Kind::Identify));
        }

        if self.flag("sends_registrations").is_some() {
            let server = self.pattern("server_uri_pattern", DEFAULT_SERVER_URI);
            let client = self.pattern("client_uri_pattern", DEFAULT_CLIENT_URI);
            let username = match sends_auth {
                Some(_) => self
                    .pass_value(Kind::OutboundAuth, "username")
                    .unwrap_or(name),
                None => name,
            };
            let line = self.flag("sends_line_with_registrations");
            if let Some((hosts, origin)) = &hosts {
                for (n, host) in hosts.iter().enumerate() {
                    let mut reg = self.object("registration", &format!("{name}-reg-{n}"));
                    let fill = |p: &str| {
                        p.replace("${REMOTE_HOST}", host)
                            .replace("${USERNAME}", username)
                    };
                    reg.push("server_uri", &fill(&server), (*origin).clone());
                    reg.push("client_uri", &fill(&client), (*origin).clone());
                    if let Some(var) = sends_auth {
                        reg.push("outbound_auth", &oauth, var.origin.clone());
                    }
                    for var in [transport, proxy].into_iter().flatten() {
                        reg.push(&var.name, &var.value, var.origin.clone());
                    }
                    if let Some(var) = line {
                        reg.push("line", "yes", var.origin.clone());
                        reg.push("endpoint", name, var.origin.clone());
                    }
                    out.objects.push(self.finish(reg, Kind::Registration));
                }
            }
        }

        if let Some(var) = self.flag("has_phoneprov") {
            let mut phoneprov = self.object("phoneprov", &format!("{name}-phoneprov"));
            phoneprov.push("endpoint", name, var.origin.clone());
            out.objects.push(self.finish(phoneprov, Kind::Phoneprov));
        }

        if self.flag("has_hint").is_some() {
            if let Some(exten) = self.string("hint_exten") {
                let context = self
                    .string("hint_context")
                    .map(|v| v.value.as_str())
                    .or_else(|| self.pass_value(Kind::Endpoint, "context"))
                    .unwrap_or("default");
                out.hints.push(Hint {
                    wizard: name.to_owned(),
                    exten: exten.value.clone(),
                    context: context.to_owned(),
                    application: self.string("hint_application").map(|v| v.value.clone()),
                });
            }
        }
    }
}

/// The host of a `host[:port]` remote host, which is what an identify matches the
/// packet source against. `[v6]:port` gives the bare address; an unbracketed string
/// with several colons is taken as a bare IPv6 address.
fn host_part(remote: &str) -> &str {
    if let Some(rest) = remote.strip_prefix('[') {
        return rest.split_once(']').map_or(remote, |(addr, _)| addr);
    }
    match remote.split_once(':') {
        Some((host, port)) if !port.contains(':') => host,
        _ => remote,
    }
}

/// Whether a section is a wizard: an object (not a template) whose first `type` is
/// exactly `wizard`, the same test res_pjsip applies to every type.
fn is_wizard(section: &Section) -> bool {
    !section.template && section.first("type").is_some_and(|t| t.value == "wizard")
}

/// Expands every wizard of `config` (normally `pjsip_wizard.conf`) into objects and
/// hints. Sections that are not wizards are ignored, as res_pjsip ignores sections of
/// other types.
///
/// Two wizards with the same name would make duplicate objects, and a duplicate object
/// makes a whole type fail to load (spec §1); rather than take every endpoint down,
/// each wizard of a shared name is refused with an error naming the others.
pub fn expand(config: &Config) -> Expansion {
    let wizards: Vec<&Section> = config.sections.iter().filter(|s| is_wizard(s)).collect();
    let mut by_name: HashMap<&str, Vec<&Origin>> = HashMap::new();
    for s in &wizards {
        by_name.entry(&s.name).or_default().push(&s.origin);
    }

    let mut out = Expansion::default();
    for section in wizards {
        let mut wizard = Wizard::read(section);
        if let Some(all) = by_name.get(section.name.as_str()).filter(|o| o.len() > 1) {
            let others: Vec<String> = all
                .iter()
                .filter(|o| **o != &section.origin)
                .map(|o| o.to_string())
                .collect();
            wizard.error(
                &section.origin,
                format!(
                    "another wizard has the same name (at {}); wizard names must be unique",
                    others.join(", ")
                ),
            );
        }
        wizard.check();
        if wizard.errors.is_empty() {
            wizard.generate(&mut out);
        } else {
            out.errors.append(&mut wizard.errors);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::host_part;

    #[test]
    fn host_part_drops_the_port_but_not_ipv6_colons() {
        assert_eq!(host_part("sip.example.com:5060"), "sip.example.com");
        assert_eq!(host_part("sip.example.com"), "sip.example.com");
        assert_eq!(host_part("192.0.2.1:5070"), "192.0.2.1");
        assert_eq!(host_part("[2001:db8::1]:5060"), "2001:db8::1");
        assert_eq!(host_part("[2001:db8::1]"), "2001:db8::1");
        assert_eq!(host_part("2001:db8::1"), "2001:db8::1");
    }
}
