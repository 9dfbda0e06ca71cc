//! Typed objects: the trait every sorcery type implements, its option table, and the
//! one function that turns a [`RawObject`] into a typed object with Asterisk's rules
//! (options applied in order, unknown option or bad value drops the object, `@` names
//! kept as extended fields, a per-type check at the end).

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use asterisk_conf::Origin;

use crate::raw::RawObject;
use crate::value::{FastMap, Text};

/// Fields every object has: its id and the free `@name` fields the wizard and other
/// tools attach.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    /// The object's id (section name or row id).
    pub id: Text,
    /// `@name = value` fields, in order.
    pub extended: Box<[(Text, Text)]>,
}

impl Meta {
    /// The value of an extended field (`@pjsip_wizard`, …), without the `@`.
    pub fn extended(&self, name: &str) -> Option<&str> {
        self.extended
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| &**v)
    }
}

/// Access to the common fields; implemented by [`impl_tables!`] for every type, whose
/// struct has them as a field named `meta`.
pub trait HasMeta {
    /// The common fields.
    fn meta(&self) -> &Meta;
    /// The common fields, for building.
    fn meta_mut(&mut self) -> &mut Meta;
}

/// One option of a type: its name, its default as configuration text, and how to set
/// and show it on an object.
pub struct Opt<T> {
    /// The option name as written in pjsip.conf and as a realtime column.
    pub name: &'static str,
    /// The default, as text (applied to every new object before its own lines).
    pub default: &'static str,
    /// Applies one line's value.
    pub set: fn(&mut T, &str) -> Result<(), String>,
    /// Writes the current value.
    pub show: fn(&T, &mut String),
    /// Writes the current value as the lines a realtime row stores (read back by
    /// `set`, one line at a time, they give the same value).
    pub row: fn(&T, &mut Vec<String>),
    /// The accepted values, for error messages.
    pub accepted: fn(&T) -> Cow<'static, str>,
}

/// A sorcery object type.
pub trait Object: HasMeta + Clone + Default + PartialEq + Send + Sync + 'static {
    /// The type name (`endpoint`, `aor`, …).
    const TYPE: &'static str;
    /// Every option, in the order `pjsip show` lists them.
    fn options() -> &'static [Opt<Self>];
    /// The per-type check run after all options are applied (Asterisk's "apply"):
    /// cross-option rules such as "min_se at least 90". Err drops the object.
    fn check(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// Takes an option that is not in the table, for types whose options are open
    /// (phoneprov's free variables). Returns false when the option is unknown.
    fn other_option(&mut self, _name: &str, _value: &str) -> bool {
        false
    }
    /// Lets a freshly loaded set share identical parts between objects (see
    /// [`crate::value::Shared`]). Called once per load with every object of the type.
    fn share(_objects: &mut [Self]) {}
    /// The object's id.
    fn id(&self) -> &str {
        &self.meta().id
    }
}

/// Per-type tables built once: the option index and the defaults object.
struct TypeTables<T> {
    index: FastMap<&'static str, usize>,
    defaults: T,
}

/// The built-once tables of each type. Generic statics do not exist in Rust, so each
/// type keeps its own `OnceLock` through [`HasTables`].
pub trait HasTables: Object {
    /// The storage for the tables (one `static` per type, see [`impl_tables!`]).
    fn tables() -> &'static OnceLock<Box<dyn std::any::Any + Send + Sync>>;
}

fn tables<T: HasTables>() -> &'static TypeTables<T> {
    let cell = T::tables();
    let any = cell.get_or_init(|| {
        let opts = T::options();
        let mut index = FastMap::with_capacity_and_hasher(opts.len(), Default::default());
        let mut defaults = T::default();
        for (i, o) in opts.iter().enumerate() {
            index.insert(o.name, i);
            if !o.default.is_empty() {
                if let Err(e) = (o.set)(&mut defaults, o.default) {
                    panic!("built-in default of {}.{} is invalid: {e}", T::TYPE, o.name);
                }
            }
        }
        Box::new(TypeTables { index, defaults })
    });
    match any.downcast_ref::<TypeTables<T>>() {
        Some(t) => t,
        None => unreachable!("tables of {} hold another type", T::TYPE),
    }
}

/// Declares the per-type table storage and the access to the type's `meta` field.
#[macro_export]
macro_rules! impl_tables {
    ($t:ty) => {
        impl $crate::object::HasMeta for $t {
            fn meta(&self) -> &$crate::object::Meta {
                &self.meta
            }
            fn meta_mut(&mut self) -> &mut $crate::object::Meta {
                &mut self.meta
            }
        }

        impl $crate::object::HasTables for $t {
            fn tables() -> &'static std::sync::OnceLock<Box<dyn std::any::Any + Send + Sync>> {
                static CELL: std::sync::OnceLock<Box<dyn std::any::Any + Send + Sync>> =
                    std::sync::OnceLock::new();
                &CELL
            }
        }
    };
}

/// Builds an option table entry for a field path: `opt!("direct_media", "yes", settings.direct_media)`.
#[macro_export]
macro_rules! opt {
    ($name:literal, $default:expr, $($path:ident).+) => {
        $crate::object::Opt {
            name: $name,
            default: $default,
            set: |o, v| {
                let parsed = $crate::value::OptValue::parse(v)?;
                $crate::value::OptValue::merge(&mut o.$($path).+, parsed);
                Ok(())
            },
            show: |o, out| $crate::value::OptValue::show(&o.$($path).+, out),
            row: |o, out| $crate::value::OptValue::show_each(&o.$($path).+, out),
            accepted: |o| $crate::value::accepted_of(&o.$($path).+),
        }
    };
}

/// A new object of type `T` with every default applied.
pub fn defaults<T: HasTables>() -> T {
    tables::<T>().defaults.clone()
}

/// The option of `T` called `name`.
pub fn option<T: HasTables>(name: &str) -> Option<&'static Opt<T>> {
    let t = tables::<T>();
    t.index.get(name).map(|&i| &T::options()[i])
}

/// Every option of an object with its current value as text, in table order (what
/// `pjsip show endpoint X` lists and what a realtime row stores).
pub fn fields<T: HasTables>(object: &T) -> Vec<(&'static str, String)> {
    T::options()
        .iter()
        .map(|o| {
            let mut s = String::new();
            (o.show)(object, &mut s);
            (o.name, s)
        })
        .collect()
}

/// Every option of an object as realtime row fields: a name repeats for each line of
/// a line-valued option, and an empty value clears the column.
pub fn row_fields<T: HasTables>(object: &T) -> Vec<(&'static str, String)> {
    let mut out = Vec::with_capacity(T::options().len());
    let mut lines = Vec::new();
    for o in T::options() {
        lines.clear();
        (o.row)(object, &mut lines);
        if lines.is_empty() {
            out.push((o.name, String::new()));
        }
        out.extend(lines.drain(..).map(|l| (o.name, l)));
    }
    out
}

/// Why one object was not loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectError {
    /// The line of the bad option, or the object's declaration.
    pub origin: Origin,
    /// The type.
    pub object_type: String,
    /// The object's id.
    pub id: String,
    /// The option at fault, when one is.
    pub option: Option<String>,
    /// Why, in words.
    pub message: String,
}

impl fmt::Display for ObjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.origin.line == 0 {
            write!(f, "{}: ", self.origin.file)?;
        } else {
            write!(f, "{}: ", self.origin)?;
        }
        write!(f, "{} '{}'", self.object_type, self.id)?;
        if let Some(o) = &self.option {
            write!(f, " option '{o}'")?;
        }
        write!(f, ": {} (object not loaded)", self.message)
    }
}

impl std::error::Error for ObjectError {}

/// Builds a typed object from its raw lines. Lines named `type` are skipped (the
/// loader chose the type already).
pub fn build<T: HasTables>(raw: &RawObject) -> Result<T, ObjectError> {
    let tables = tables::<T>();
    let mut object = tables.defaults.clone();
    object.meta_mut().id = Text::interned(&raw.id);
    let fail = |origin: &Origin, option: Option<&str>, message: String| ObjectError {
        origin: origin.clone(),
        object_type: T::TYPE.to_owned(),
        id: raw.id.clone(),
        option: option.map(str::to_owned),
        message,
    };
    let mut extended: Vec<(Text, Text)> = Vec::new();
    for var in &raw.fields {
        if var.name == "type" {
            continue;
        }
        if let Some(name) = var.name.strip_prefix('@') {
            match extended.iter_mut().find(|(n, _)| &**n == name) {
                Some(slot) => slot.1 = var.value.as_str().into(),
                None => extended.push((name.into(), var.value.as_str().into())),
            }
            continue;
        }
        let Some(&i) = tables.index.get(var.name.as_str()) else {
            if object.other_option(&var.name, &var.value) {
                continue;
            }
            return Err(fail(
                &var.origin,
                Some(&var.name),
                format!("unknown option for type {}", T::TYPE),
            ));
        };
        let opt = &T::options()[i];
        if let Err(why) = (opt.set)(&mut object, &var.value) {
            let accepted = (opt.accepted)(&object);
            return Err(fail(
                &var.origin,
                Some(&var.name),
                format!("{why}; accepted: {accepted}"),
            ));
        }
    }
    if !extended.is_empty() {
        object.meta_mut().extended = extended.into_boxed_slice();
    }
    object.check().map_err(|why| fail(&raw.origin, None, why))?;
    Ok(object)
}
