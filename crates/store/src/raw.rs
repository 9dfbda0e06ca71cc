//! Objects before typing: a type name, an id and option lines in order, as they come
//! from a `pjsip.conf` section, a wizard expansion or a realtime row. Every typed
//! object is built from one of these by the same code path, so an option means the
//! same thing wherever it was written.

use asterisk_conf::{Origin, Var};

/// One object as written: the option lines in the order they apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawObject {
    /// The sorcery type (`endpoint`, `aor`, …).
    pub object_type: String,
    /// The object's id (section name, generated name or the row's `id`).
    pub id: String,
    /// Where the object was declared (section header, or the table for a row).
    pub origin: Origin,
    /// The options in order; repeated names are kept (some options accumulate).
    pub fields: Vec<Var>,
}

impl RawObject {
    /// A new object with no options.
    pub fn new(object_type: &str, id: &str, origin: Origin) -> RawObject {
        RawObject {
            object_type: object_type.to_owned(),
            id: id.to_owned(),
            origin,
            fields: Vec::new(),
        }
    }

    /// Appends one option line.
    pub fn push(&mut self, name: &str, value: &str, origin: Origin) {
        self.fields.push(Var {
            name: name.to_owned(),
            value: value.to_owned(),
            origin,
        });
    }

    /// The last value given for `name`, if any.
    pub fn last(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|v| v.name == name)
            .map(|v| v.value.as_str())
    }
}
