//! The typed objects, one module per sorcery type.

pub mod aor;
pub mod auth;
pub mod contact;
pub mod endpoint;
pub mod global;
pub mod identify;
pub mod misc;
pub mod registration;
pub mod transport;

pub use aor::Aor;
pub use auth::Auth;
pub use contact::Contact;
pub use endpoint::{Endpoint, EndpointSettings};
pub use global::{Global, System};
pub use identify::Identify;
pub use misc::{AclObject, DomainAlias, PhoneProv, ResourceList};
pub use registration::Registration;
pub use transport::Transport;
