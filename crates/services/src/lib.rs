//! The request pipeline (spec §13 "in-serializer pipeline"): global ACL → endpoint
//! identification → endpoint ACLs → authentication → the services (registrar,
//! OPTIONS, and later sessions, subscriptions, MESSAGE). Each step is its own module
//! and reads configuration only through the store.
//!
//! Beside the pipeline, [`qualify`] probes contacts with OPTIONS (spec §10) through
//! the endpoint and records their status in the location service.

#![warn(missing_docs)]

pub mod acl;
pub mod auth;
pub mod hosts;
pub mod identify;
pub mod outbound_auth;
pub mod pipeline;
pub mod qualify;
pub mod registrar;
pub mod source;
pub mod unidentified;

pub use acl::NamedAcls;
pub use auth::DigestAuthenticator;
pub use identify::{Identifier, Identifiers, IdentifySettings, RequestFacts};
pub use pipeline::{
    AuthRequest, AuthVerdict, Authenticator, EndpointRequest, EndpointService, Pipeline,
};
pub use qualify::{
    qualify_channel, Observed, OptionsSender, Qualifier, QualifyInbox, QualifyNotifier,
    QualifyOptions, QualifyResults,
};
pub use registrar::RegistrarService;
pub use source::RequestSource;
