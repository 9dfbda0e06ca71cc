//! From parsed `.conf` sections to typed objects, with res_pjsip's rules for the
//! `config` wizard (spec §1 "From sections to objects"): a section is an object of type
//! `t` when its first `type` line says `t`; templates are skipped; a bad object is
//! dropped alone; two objects of one type with one name fail the whole type; a single
//! type (`global`, `system`) with two objects fails too.

use std::collections::{HashMap, HashSet};

use asterisk_conf::Config;

use crate::object::{build, option, HasTables, ObjectError};
use crate::raw::RawObject;

/// Options for picking a type's sections out of a file (the `config` wizard's data).
#[derive(Debug, Clone, Default)]
pub struct Criteria<'a> {
    /// Sections qualify when their first `type` equals this.
    pub object_type: &'a str,
    /// Also take a section of this name that has no `type` line, if every key in it
    /// is an option of the type (`[global]`, `[system]`).
    pub explicit_name: Option<&'a str>,
    /// At most one object (the type fails otherwise).
    pub single_object: bool,
}

/// The sections of `config` that are objects of one type, as raw objects.
pub fn select<T: HasTables>(config: &Config, criteria: &Criteria<'_>) -> Vec<RawObject> {
    let mut out = Vec::new();
    for section in config.objects() {
        let object_type = section.first("type").map(|v| v.value.as_str());
        let qualifies = match object_type {
            Some(t) => t == criteria.object_type,
            None => {
                criteria.explicit_name == Some(section.name.as_str())
                    && section
                        .vars
                        .iter()
                        .all(|v| v.name.starts_with('@') || option::<T>(&v.name).is_some())
            }
        };
        if qualifies {
            out.push(RawObject {
                object_type: criteria.object_type.to_owned(),
                id: section.name.clone(),
                origin: section.origin.clone(),
                fields: section.vars.clone(),
            });
        }
    }
    out
}

/// One type's load result.
#[derive(Debug)]
pub struct TypeLoad<T> {
    /// The objects that loaded, in source order.
    pub objects: Vec<T>,
    /// Objects that were dropped, each with why.
    pub errors: Vec<ObjectError>,
    /// Set when the whole type failed (duplicate names, several single objects): the
    /// caller keeps the previous set of this type.
    pub failed: Option<String>,
}

/// Types each raw object, applying the duplicate and single-object rules.
pub fn load_type<T: HasTables>(raws: &[RawObject], single_object: bool) -> TypeLoad<T> {
    let mut seen: HashMap<&str, &RawObject> = HashMap::with_capacity(raws.len());
    for raw in raws {
        if let Some(first) = seen.insert(raw.id.as_str(), raw) {
            return TypeLoad {
                objects: Vec::new(),
                errors: Vec::new(),
                failed: Some(format!(
                    "{}: duplicate {} '{}' (first at {}); no {} objects were loaded from this source",
                    raw.origin, T::TYPE, raw.id, first.origin, T::TYPE
                )),
            };
        }
    }
    if single_object && raws.len() > 1 {
        let places: Vec<String> = raws.iter().map(|r| r.origin.to_string()).collect();
        return TypeLoad {
            objects: Vec::new(),
            errors: Vec::new(),
            failed: Some(format!(
                "only one {} object is allowed, found {} ({})",
                T::TYPE,
                raws.len(),
                places.join(", ")
            )),
        };
    }
    let mut objects = Vec::with_capacity(raws.len());
    let mut errors = Vec::new();
    for raw in raws {
        match build::<T>(raw) {
            Ok(o) => objects.push(o),
            Err(e) => errors.push(e),
        }
    }
    T::share(&mut objects);
    TypeLoad {
        objects,
        errors,
        failed: None,
    }
}

/// Warns once per unknown `type=` value (Asterisk ignores such sections silently; an
/// operator wants to hear about a typo like `type=endpiont`).
pub fn unknown_types(config: &Config, known: &[&str]) -> Vec<String> {
    let mut warned = HashSet::new();
    let mut out = Vec::new();
    for section in config.objects() {
        if let Some(t) = section.first("type") {
            if !known.contains(&t.value.as_str()) && warned.insert(t.value.clone()) {
                out.push(format!(
                    "{}: section '{}' has unknown type '{}'; sections of this type are ignored",
                    t.origin, section.name, t.value
                ));
            }
        }
    }
    out
}
