//! The services `serve` runs behind the endpoint: the request pipeline (ACLs,
//! identification, digest authentication; crates/services) and, after it, the
//! default OPTIONS responder.

use std::path::Path;
use std::sync::Arc;

use asterisk_conf::FsSource;
use sip_endpoint::{OptionsResponder, Service};
use sip_message::Method;
use sip_services::{
    DigestAuthenticator, Identifiers, IdentifySettings, NamedAcls, Pipeline, RequestSource,
};
use sorcery::objects::Objects;

/// Asterisk's `endpoint_identifier_order` default, used when the global object cannot
/// be read.
const DEFAULT_ORDER: &[&str] = &["ip", "username", "anonymous"];

/// The services in the order the endpoint tries them. The identifier order and the
/// named ACLs of `acl.conf` are read once, at start (as Asterisk fixes them at module
/// load); everything else is read from the store per request, so reloads apply.
pub async fn build<S: RequestSource>(
    config_dir: &Path,
    objects: &Arc<Objects>,
) -> Result<Vec<Arc<dyn Service<S>>>, String> {
    let (acls, problems) = NamedAcls::load(&FsSource::new(config_dir));
    for p in problems {
        tracing::warn!("{p}");
    }
    let global = objects.global.get("global").await.ok().flatten();
    let order: Vec<String> = match &global {
        Some(g) if !g.endpoint_identifier_order.is_empty() => g
            .endpoint_identifier_order
            .iter()
            .map(|s| s.trim().to_owned())
            .collect(),
        _ => DEFAULT_ORDER.iter().map(|s| (*s).to_owned()).collect(),
    };
    let order: Vec<&str> = order.iter().map(String::as_str).collect();
    let (identifiers, unknown) = Identifiers::ordered(Identifiers::builtin(), &order);
    for name in unknown {
        tracing::warn!(
            "global endpoint_identifier_order names '{name}', which is not an identifier; ignored"
        );
    }
    tracing::info!("endpoint identifiers: {}", identifiers.names().join(", "));
    let settings = IdentifySettings {
        disable_multi_domain: global.as_ref().is_some_and(|g| g.disable_multi_domain),
    };
    let ignore_uri_user_options = global.as_ref().is_some_and(|g| g.ignore_uri_user_options);
    let authenticator = Arc::new(DigestAuthenticator::new(Arc::clone(objects))?);
    let pipeline = Pipeline::new(
        Arc::clone(objects),
        acls,
        identifiers,
        settings,
        ignore_uri_user_options,
        authenticator,
        Vec::new(),
    );
    Ok(vec![
        Arc::new(pipeline),
        Arc::new(OptionsResponder::new(
            &[Method::Options],
            &["application/sdp"],
            &[],
        )),
    ])
}
