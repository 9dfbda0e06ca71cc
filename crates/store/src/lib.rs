//! The object store ("sorcery"): typed configuration and state objects behind wizards
//! (configuration files, memory, the local persistent store, SQL), layered as
//! `sorcery.conf` says. Services read objects only through it.
//!
//! The mapping says which wizards hold each type, in what order, and where each
//! realtime table lives ([`mapping`]); [`objects`] builds the layered stores from it;
//! realtime tables are reached through sqlx ([`sql`], [`tables`]), the local store's
//! SQLite file through a thread of its own ([`local`]); [`contacts`] makes registered
//! contacts durable with group commit.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codecs;
pub mod contacts;
pub mod load;
pub mod local;
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
