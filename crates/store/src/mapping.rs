//! Which wizards hold each object type, and in what order: `sorcery.conf` read as
//! Asterisk reads it, realtime families resolved through `extconfig.conf` to a named
//! connection, and the connection named in `switchboard.conf` `[databases]`.
//!
//! ```text
//! ; sorcery.conf                      ; extconfig.conf              ; switchboard.conf
//! [res_pjsip]                         [settings]                    [databases]
//! endpoint=realtime,ps_endpoints      ps_endpoints => odbc,asterisk asterisk = postgres://…
//! endpoint=config,pjsip.conf,criteria=type=endpoint
//! ```
//!
//! Several lines for one type are layers, in file order; `type/cache = …` marks a cache
//! layer. A type with no line keeps its built-in default; any line replaces the default.

use std::collections::BTreeMap;

use asterisk_conf::{load, ConfError, Config, LoadOptions, Origin, Source};

/// The object types, with the sorcery.conf section (module) that maps each.
pub const TYPES: &[(&str, &str)] = &[
    ("endpoint", "res_pjsip"),
    ("auth", "res_pjsip"),
    ("aor", "res_pjsip"),
    ("contact", "res_pjsip"),
    ("domain_alias", "res_pjsip"),
    ("transport", "res_pjsip"),
    ("global", "res_pjsip"),
    ("system", "res_pjsip"),
    ("identify", "res_pjsip_endpoint_identifier_ip"),
    ("registration", "res_pjsip_outbound_registration"),
    ("acl", "res_pjsip"),
    ("subscription_persistence", "res_pjsip_pubsub"),
    ("inbound-publication", "res_pjsip_pubsub"),
    ("resource_list", "res_pjsip_pubsub"),
    ("phoneprov", "res_pjsip_phoneprov_provider"),
];

/// What to do when a realtime read would fetch every row (`allow_unqualified_fetch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnqualifiedFetch {
    /// Refuse (the default).
    No,
    /// Allow, with a warning.
    Warn,
    /// Allow.
    Yes,
    /// Refuse, with an error.
    Error,
}

/// A SQL connection a realtime family resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The driver named in extconfig.conf (`odbc`, `pgsql`, `mysql`, `sqlite3`): recorded
    /// for messages only; the URL decides how to connect.
    pub driver: String,
    /// The connection name (extconfig.conf's second field, a key of `[databases]`).
    pub name: String,
    /// The URL from switchboard.conf `[databases]`.
    pub url: String,
    /// The table (extconfig.conf's third field, else the family name).
    pub table: String,
}

/// One wizard with its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wizard {
    /// Objects from a `.conf` file.
    Config {
        /// The file, relative to the configuration directory.
        file: String,
        /// `criteria=field=value` pairs a section must satisfy (its first such field).
        criteria: Vec<(String, String)>,
        /// `explicit_name=…`: the section name that also qualifies without `type`.
        explicit_name: Option<String>,
        /// `single_object=yes`: at most one object of the type.
        single_object: bool,
        /// `integrity=file`: one bad object rejects the whole file for the type.
        integrity_file: bool,
    },
    /// Objects kept in memory only.
    Memory,
    /// The persistent local store (Asterisk's AstDB role), with its key prefix.
    Astdb {
        /// The family prefix (`registrar` for contacts).
        prefix: String,
    },
    /// Rows of a SQL table.
    Realtime {
        /// The extconfig.conf family (usually the table name, `ps_endpoints`).
        family: String,
        /// Where the family lives.
        connection: Connection,
        /// Unqualified reads policy.
        unqualified: UnqualifiedFetch,
    },
    /// A cache in front of the other layers, with its options as written.
    MemoryCache {
        /// `name=value` options.
        options: Vec<(String, String)>,
    },
}

/// One layer of a type's mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// The wizard and its data.
    pub wizard: Wizard,
    /// Marked `/cache`.
    pub cache: bool,
    /// The sorcery.conf line, or `None` for a built-in default.
    pub origin: Option<Origin>,
}

/// Every type's layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    types: BTreeMap<String, Vec<Layer>>,
    /// Lines that were ignored, and why.
    pub warnings: Vec<String>,
}

impl Mapping {
    /// The layers of a type, in the order reads try them.
    pub fn layers(&self, object_type: &str) -> &[Layer] {
        self.types.get(object_type).map_or(&[], Vec::as_slice)
    }

    /// The built-in mapping, as when there is no sorcery.conf: everything from
    /// pjsip.conf, `global` and `system` as single objects, contacts in the local store.
    pub fn defaults() -> Mapping {
        let types = TYPES
            .iter()
            .map(|(t, _)| (t.to_string(), vec![default_layer(t)]))
            .collect();
        Mapping {
            types,
            warnings: Vec::new(),
        }
    }
}

fn default_layer(t: &str) -> Layer {
    let wizard = match t {
        "contact" => Wizard::Astdb {
            prefix: "registrar".into(),
        },
        "subscription_persistence" => Wizard::Astdb {
            prefix: "subscription_persistence".into(),
        },
        _ => Wizard::Config {
            file: "pjsip.conf".into(),
            criteria: vec![("type".into(), t.into())],
            explicit_name: matches!(t, "global" | "system").then(|| t.to_owned()),
            single_object: matches!(t, "global" | "system"),
            integrity_file: false,
        },
    };
    Layer {
        wizard,
        cache: false,
        origin: None,
    }
}

/// A problem that stops the mapping from being used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    /// Where (file:line), when a line is to blame.
    pub origin: Option<Origin>,
    /// What, in words.
    pub message: String,
}

impl std::fmt::Display for MappingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.origin {
            Some(o) => write!(f, "{o}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl From<ConfError> for MappingError {
    fn from(e: ConfError) -> Self {
        MappingError {
            origin: Some(e.origin),
            message: e.message,
        }
    }
}

/// Reads `sorcery.conf`, `extconfig.conf` and `switchboard.conf` from `source` (each
/// optional) and resolves every type's layers. Every problem is reported, not only the
/// first.
pub fn load_mapping(source: &dyn Source) -> Result<Mapping, Vec<MappingError>> {
    let opts = LoadOptions::default();
    let optional = |name: &str| -> Result<Option<Config>, MappingError> {
        if source.resolve(name).map(|f| f.is_empty()).unwrap_or(true) {
            return Ok(None);
        }
        load(source, name, &opts).map(Some).map_err(Into::into)
    };
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut take = |r: Result<Option<Config>, MappingError>| {
        r.unwrap_or_else(|e| {
            errors.push(e);
            None
        })
    };
    let sorcery = take(optional("sorcery.conf"));
    let extconfig = take(optional("extconfig.conf"));
    let databases = take(optional("switchboard.conf"));

    let urls = database_urls(databases.as_ref(), &mut errors, &mut warnings);
    let families = families(extconfig.as_ref(), &mut warnings);

    let mut mapping = Mapping::defaults();
    if let Some(cfg) = &sorcery {
        warnings.extend(cfg.warnings.iter().map(ToString::to_string));
        let mut explicit: BTreeMap<String, Vec<Layer>> = BTreeMap::new();
        for section in cfg.objects() {
            for var in &section.vars {
                let (t, opt) = match var.name.split_once('/') {
                    Some((t, o)) => (t.trim(), Some(o.trim())),
                    None => (var.name.as_str(), None),
                };
                let Some((_, module)) = TYPES.iter().find(|(name, _)| *name == t) else {
                    warnings.push(format!("{}: unknown object type '{t}' ignored", var.origin));
                    continue;
                };
                if section.name != *module {
                    warnings.push(format!(
                        "{}: '{t}' is mapped in [{module}], not [{}]; line ignored",
                        var.origin, section.name
                    ));
                    continue;
                }
                let cache = match opt {
                    None => false,
                    Some("cache") => true,
                    Some(o) => {
                        errors.push(MappingError {
                            origin: Some(var.origin.clone()),
                            message: format!(
                                "{t}/{o}: unknown mapping option (only 'cache' exists)"
                            ),
                        });
                        continue;
                    }
                };
                match wizard(&var.value, &families, &urls) {
                    Ok(wizard) => explicit.entry(t.to_owned()).or_default().push(Layer {
                        wizard,
                        cache,
                        origin: Some(var.origin.clone()),
                    }),
                    Err(message) => errors.push(MappingError {
                        origin: Some(var.origin.clone()),
                        message: format!("{t}: {message}"),
                    }),
                }
            }
        }
        // Any explicit line for a type replaces its default entirely.
        mapping.types.extend(explicit);
    }
    if errors.is_empty() {
        mapping.warnings = warnings;
        Ok(mapping)
    } else {
        Err(errors)
    }
}

/// `[databases]` of switchboard.conf: connection name → URL.
fn database_urls(
    cfg: Option<&Config>,
    errors: &mut Vec<MappingError>,
    warnings: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(cfg) = cfg else { return out };
    for s in cfg.objects() {
        if s.name != "databases" {
            warnings.push(format!(
                "{}: section [{}] of switchboard.conf is not used here",
                s.origin, s.name
            ));
            continue;
        }
        for v in &s.vars {
            let scheme = v.value.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
            match scheme.as_deref() {
                Some("sqlite" | "postgres" | "postgresql" | "mysql" | "mariadb") => {
                    out.insert(v.name.clone(), v.value.clone());
                }
                _ => errors.push(MappingError {
                    origin: Some(v.origin.clone()),
                    message: format!(
                        "database '{}': '{}' is not a sqlite://, postgres:// or mysql:// URL",
                        v.name, v.value
                    ),
                }),
            }
        }
    }
    out
}

/// `[settings]` of extconfig.conf: family → (driver, connection, table), as written
/// (`ps_endpoints => odbc,asterisk` or `family => driver,connection,table`).
fn families(
    cfg: Option<&Config>,
    warnings: &mut Vec<String>,
) -> BTreeMap<String, (String, String, String)> {
    let mut out = BTreeMap::new();
    let Some(cfg) = cfg else { return out };
    for s in cfg.objects().filter(|s| s.name == "settings") {
        for v in &s.vars {
            let parts: Vec<&str> = v.value.split(',').map(str::trim).collect();
            match parts[..] {
                [driver, conn] | [driver, conn, _] if !conn.is_empty() => {
                    if !matches!(driver, "odbc" | "pgsql" | "mysql" | "sqlite3") {
                        warnings.push(format!(
                            "{}: driver '{driver}' for '{}' is not supported (odbc, pgsql, mysql, sqlite3 are); family ignored",
                            v.origin, v.name
                        ));
                        continue;
                    }
                    let table = parts
                        .get(2)
                        .filter(|t| !t.is_empty())
                        .unwrap_or(&v.name.as_str())
                        .to_string();
                    out.insert(v.name.clone(), (driver.to_owned(), conn.to_owned(), table));
                }
                _ => warnings.push(format!(
                    "{}: '{}' should be 'driver,connection[,table]'; family ignored",
                    v.origin, v.value
                )),
            }
        }
    }
    out
}

/// Splits `a,b=c,d=e=f` into the first field and `name=value` options (a value may hold `=`).
fn options(rest: &[&str]) -> Result<Vec<(String, String)>, String> {
    rest.iter()
        .filter(|o| !o.is_empty())
        .map(|o| match o.split_once('=') {
            Some((n, v)) => Ok((n.trim().to_owned(), v.trim().to_owned())),
            None => Err(format!("option '{o}' has no '='")),
        })
        .collect()
}

fn yes(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "yes" | "true" | "on" | "1")
}

fn wizard(
    value: &str,
    families: &BTreeMap<String, (String, String, String)>,
    urls: &BTreeMap<String, String>,
) -> Result<Wizard, String> {
    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
    let (name, data) = parts
        .split_first()
        .map(|(n, d)| (*n, d))
        .unwrap_or(("", &[]));
    match name {
        "config" => {
            let Some((file, rest)) = data.split_first() else {
                return Err("config needs a file name (config,pjsip.conf,...)".into());
            };
            let mut w = Wizard::Config {
                file: (*file).to_owned(),
                criteria: Vec::new(),
                explicit_name: None,
                single_object: false,
                integrity_file: false,
            };
            if let Wizard::Config {
                criteria,
                explicit_name,
                single_object,
                integrity_file,
                ..
            } = &mut w
            {
                for (n, v) in options(rest)? {
                    match n.as_str() {
                        "criteria" => match v.split_once('=') {
                            Some((f, x)) => criteria.push((f.to_owned(), x.to_owned())),
                            None => return Err(format!("criteria '{v}' should be field=value")),
                        },
                        "explicit_name" => *explicit_name = Some(v),
                        "single_object" => *single_object = yes(&v),
                        "integrity" => match v.as_str() {
                            "object" => *integrity_file = false,
                            "file" => *integrity_file = true,
                            _ => return Err(format!("integrity '{v}' should be object or file")),
                        },
                        "buckets" => {}
                        other => return Err(format!("unknown config wizard option '{other}'")),
                    }
                }
            }
            Ok(w)
        }
        "memory" => Ok(Wizard::Memory),
        "astdb" => Ok(Wizard::Astdb {
            prefix: data
                .first()
                .filter(|p| !p.is_empty())
                .unwrap_or(&"registrar")
                .to_string(),
        }),
        "memory_cache" => Ok(Wizard::MemoryCache {
            options: options(data)?,
        }),
        "realtime" => {
            let Some((family, rest)) = data.split_first().filter(|(f, _)| !f.is_empty()) else {
                return Err("realtime needs a family (realtime,ps_endpoints)".into());
            };
            // Asterisk's default is yes (an empty value too).
            let mut unqualified = UnqualifiedFetch::Yes;
            for (n, v) in options(rest)? {
                match (n.as_str(), v.to_ascii_lowercase().as_str()) {
                    ("allow_unqualified_fetch", "yes" | "") => unqualified = UnqualifiedFetch::Yes,
                    ("allow_unqualified_fetch", "no") => unqualified = UnqualifiedFetch::No,
                    ("allow_unqualified_fetch", "warn") => unqualified = UnqualifiedFetch::Warn,
                    ("allow_unqualified_fetch", "error") => unqualified = UnqualifiedFetch::Error,
                    _ => return Err(format!("unknown realtime option '{n}={v}'")),
                }
            }
            let Some((driver, conn, table)) = families.get(*family) else {
                return Err(format!(
                    "realtime family '{family}' has no line in extconfig.conf [settings] (e.g. {family} => odbc,asterisk)"
                ));
            };
            let Some(url) = urls.get(conn) else {
                return Err(format!(
                    "connection '{conn}' (for '{family}') is not in switchboard.conf [databases] (e.g. {conn} = sqlite:///var/lib/switchboard/realtime.db)"
                ));
            };
            Ok(Wizard::Realtime {
                family: (*family).to_owned(),
                connection: Connection {
                    driver: driver.clone(),
                    name: conn.clone(),
                    url: url.clone(),
                    table: table.clone(),
                },
                unqualified,
            })
        }
        "" => Err("no wizard named".into()),
        other => Err(format!(
            "unknown wizard '{other}' (config, memory, astdb, realtime, memory_cache)"
        )),
    }
}
