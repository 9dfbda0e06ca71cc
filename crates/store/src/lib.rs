//! The object store ("sorcery"): typed configuration and state objects behind wizards
//! (configuration files, memory, the local persistent store, SQL), layered as
//! `sorcery.conf` says. Services read objects only through it.
//!
//! This crate starts with the mapping: which wizards hold each type, in what order,
//! and where each realtime table lives ([`mapping`]); and codec preference lists
//! ([`codecs`]). The typed objects and the wizards
//! themselves come next (see the configuration issue).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codecs;
pub mod contacts;
pub mod load;
pub mod mapping;
pub mod net;
pub mod object;
pub mod objects;
pub mod raw;
pub mod schema;
pub mod sql;
pub mod store;
pub mod tables;
pub mod types;
pub mod value;
pub mod wizard;

pub use mapping::{
    load_mapping, Connection, Layer, Mapping, MappingError, UnqualifiedFetch, Wizard,
};
