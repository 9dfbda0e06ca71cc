//! From parsed `.conf` sections to typed objects, with res_pjsip's rules for the
//! `config` wizard (spec §1 "From sections to objects"): a section is an object of type
//! `t` when its first `type` line says `t`; templates are skipped; a bad object is
//! dropped alone; two objects of one type with one name fail the whole type; a single
//! type (`global`, `system`) with two objects fails too.

use std::collections::HashMap;

use asterisk_conf::Config;

use crate::object::{build, option, HasTables, ObjectError};
use crate::raw::RawObject;
use crate::value::FastMap;

/// A file's object sections grouped by their first `type` line, moved out of the
/// parse tree (no copy of the option lines), ready to be handed to each type.
#[derive(Debug, Default)]
pub struct Buckets {
    by_type: HashMap<String, Vec<RawObject>>,
    untyped: Vec<RawObject>,
}

impl Buckets {
    /// Groups the non-template sections of `config`.
    pub fn new(config: Config) -> Buckets {
        let mut b = Buckets::default();
        for section in config.sections.into_iter().filter(|s| !s.template) {
            let object_type = section.first("type").map(|v| v.value.clone());
            let raw = RawObject {
                object_type: object_type.clone().unwrap_or_default(),
                id: section.name,
                origin: section.origin,
                fields: section.vars,
            };
            match object_type {
                Some(t) => b.by_type.entry(t).or_default().push(raw),
                None => b.untyped.push(raw),
            }
        }
        b
    }

    /// The sections whose first `type` is `object_type`, in file order; `take`
    /// moves them out (the last user of a file's type), otherwise they are copied.
    pub fn typed(&mut self, object_type: &str, take: bool) -> Vec<RawObject> {
        if take {
            self.by_type.remove(object_type).unwrap_or_default()
        } else {
            self.by_type.get(object_type).cloned().unwrap_or_default()
        }
    }

    /// The section named `name` that has no `type` line, if every key in it is an
    /// option of `T` (how `[global]` and `[system]` are found by name).
    pub fn explicit<T: HasTables>(&self, name: &str) -> Option<RawObject> {
        self.untyped
            .iter()
            .find(|r| {
                r.id == name
                    && r.fields
                        .iter()
                        .all(|v| v.name.starts_with('@') || option::<T>(&v.name).is_some())
            })
            .cloned()
    }

    /// The `type` values present, for warnings about unknown types.
    pub fn types(&self) -> impl Iterator<Item = (&str, &RawObject)> {
        self.by_type
            .iter()
            .filter_map(|(t, v)| v.first().map(|r| (t.as_str(), r)))
    }
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
    let mut seen: FastMap<&str, &RawObject> =
        FastMap::with_capacity_and_hasher(raws.len(), Default::default());
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
pub fn unknown_types(buckets: &Buckets, known: &[&str]) -> Vec<String> {
    let mut out: Vec<(String, String)> = buckets
        .types()
        .filter(|(t, _)| !known.contains(t))
        .map(|(t, raw)| {
            let origin = raw
                .fields
                .iter()
                .find(|v| v.name == "type")
                .map_or(&raw.origin, |v| &v.origin);
            (
                origin.to_string(),
                format!(
                    "{origin}: section '{}' has unknown type '{t}'; sections of this type are ignored",
                    raw.id
                ),
            )
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, m)| m).collect()
}
