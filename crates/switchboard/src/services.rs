//! The services `serve` runs behind the endpoint: the request pipeline (ACLs,
//! identification, digest authentication; crates/services) and, after it, the
//! default OPTIONS responder; and the qualify scheduler, started once the endpoint it
//! sends through exists.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use asterisk_conf::FsSource;
use sip_endpoint::{Endpoint, OptionsResponder, Service, Wire};
use sip_message::Method;
use sip_registrar::{ChangeReason, ContactStatus, Location};
use sip_services::hosts::HostAddresses;
use sip_services::registrar::{forget_contacts, unix_now};
use sip_services::unidentified::{UnidentifiedLimits, UnidentifiedRequests};
use sip_services::{
    qualify_channel, DigestAuthenticator, Identifiers, IdentifySettings, NamedAcls, Pipeline,
    Qualifier, QualifyInbox, QualifyNotifier, QualifyOptions, RegistrarService, RequestSource,
};
use sorcery::contacts::{load_contacts, ContactWriter, WriterOptions};
use sorcery::objects::Objects;

/// The location service with the contacts stored before this start (expired and
/// `prune_on_boot` ones removed), its writer, and the task that expires contacts.
pub struct Registrations {
    /// This server's name on the contacts it stores (`reg_server`: `asterisk.conf`'s
    /// `systemname`, empty by default).
    pub reg_server: String,
    /// The bindings.
    pub location: Arc<Location>,
    /// The group-commit writer of contacts.
    pub writer: ContactWriter,
    /// The registrar's line to the qualify scheduler.
    pub qualify: QualifyNotifier,
    /// The scheduler's end of that line, until [`start_qualify`] takes it: the
    /// registrar exists before the endpoint, the scheduler only after it, and notes
    /// sent in between wait in the channel.
    qualify_inbox: Option<QualifyInbox>,
    _expiry: tokio::task::JoinHandle<()>,
}

/// Loads the stored contacts and starts the writer and the expiry task.
pub async fn registrations(
    objects: &Arc<Objects>,
    reg_server: String,
) -> Result<Registrations, String> {
    let location = Arc::new(Location::new());
    let loaded = load_contacts(&objects.contact, unix_now(), &reg_server)
        .await
        .map_err(|e| format!("cannot read the stored contacts: {e}"))?;
    if let Some(e) = &loaded.delete_error {
        tracing::warn!("expired contacts could not be removed from the store: {e}");
    }
    for c in &loaded.live {
        location.load(c, ContactStatus::Unknown);
    }
    tracing::info!("{} contacts loaded from the store", loaded.live.len());
    let writer = ContactWriter::start(Arc::clone(objects), WriterOptions::default());
    let expiry = tokio::spawn(expire_contacts(Arc::clone(&location), writer.clone()));
    let (qualify, inbox) = qualify_channel();
    Ok(Registrations {
        reg_server,
        location,
        writer,
        qualify,
        qualify_inbox: Some(inbox),
        _expiry: expiry,
    })
}

/// Starts qualifying (spec §10) through `endpoint`, with `max_initial_qualify_time`
/// and `default_from_user` from the `global` object as they are at start. Returns
/// `None` if it was already started. Dropping the [`Qualifier`] stops it.
pub async fn start_qualify<W: Wire>(
    objects: &Arc<Objects>,
    registrations: &mut Registrations,
    endpoint: Arc<Endpoint<W>>,
) -> Option<Qualifier> {
    let inbox = registrations.qualify_inbox.take()?;
    let global = objects.global.get("global").await.ok().flatten();
    let mut options = QualifyOptions::default();
    if let Some(g) = &global {
        options.max_initial_qualify_time =
            std::time::Duration::from_secs(u64::from(g.max_initial_qualify_time));
        if !g.default_from_user.is_empty() {
            options.from_user = g.default_from_user.to_string();
        }
    }
    Some(Qualifier::start(
        inbox,
        Arc::new(endpoint),
        Arc::clone(objects),
        Arc::clone(&registrations.location),
        options,
    ))
}

/// Removes contacts as they expire (spec §6.10): from memory at once, from the store
/// in one group commit per round. Wakes at the next expiry, at least every 30 s
/// (Asterisk's contact_expiration_check_interval) in case contacts were added.
async fn expire_contacts(location: Arc<Location>, writer: ContactWriter) {
    loop {
        let now = unix_now();
        let wait = location
            .next_expiry()
            .map(|at| at.saturating_sub(now).max(1))
            .unwrap_or(30)
            .min(30);
        tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
        let expired = location.expire(unix_now());
        // Gone from memory; if the store fails, it keeps them until the next start,
        // which removes expired contacts anyway.
        forget_contacts(&writer, &expired, ChangeReason::Expiration).await;
    }
}

impl Registrations {
    /// A stream connection has closed (`Inbound::Closed`): the contacts bound to it
    /// (`prune_on_boot`, spec §6.7) leave the location service now and the store in a
    /// task of their own, so the caller — the loop receiving from the transports —
    /// never waits on the store.
    pub fn connection_closed(&self, connection: u64) {
        if let Some(forget) =
            sip_services::registrar::connection_closed(&self.location, &self.writer, connection)
        {
            tokio::spawn(forget);
        }
    }
}

/// Asterisk's `endpoint_identifier_order` default, used when the global object cannot
/// be read.
const DEFAULT_ORDER: &[&str] = &["ip", "username", "anonymous"];

/// The services in the order the endpoint tries them. The identifier order and the
/// named ACLs of `acl.conf` are read once, at start (as Asterisk fixes them at module
/// load); everything else is read from the store per request, so reloads apply.
pub async fn build<S: RequestSource>(
    config_dir: &Path,
    objects: &Arc<Objects>,
    registrations: &Registrations,
    hosts: Arc<HostAddresses>,
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
    let (identifiers, unknown) = Identifiers::ordered(Identifiers::builtin_with(hosts), &order);
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
    // Counting per source only when requests may be unidentified until their
    // credentials arrive (spec §8.5).
    let unidentified = order.contains(&"auth_username").then(|| {
        let limits = match &global {
            Some(g) => UnidentifiedLimits {
                count: g.unidentified_request_count,
                period: Duration::from_secs(g.unidentified_request_period.into()),
                prune_interval: Duration::from_secs(g.unidentified_request_prune_interval.into()),
            },
            None => UnidentifiedLimits::default(),
        };
        Arc::new(UnidentifiedRequests::new(limits))
    });
    let mut pipeline = Pipeline::new(
        Arc::clone(objects),
        acls,
        identifiers,
        settings,
        ignore_uri_user_options,
        authenticator,
        vec![Arc::new(
            RegistrarService::new(
                Arc::clone(objects),
                Arc::clone(&registrations.location),
                registrations.writer.clone(),
                registrations.reg_server.clone(),
                ignore_uri_user_options,
            )
            .with_qualify(registrations.qualify.clone()),
        )],
    );
    if let Some(table) = unidentified {
        pipeline = pipeline.with_unidentified(table);
    }
    // Allow lists what is answered: OPTIONS, and whatever the services behind the
    // pipeline take (REGISTER today; INVITE, SUBSCRIBE, … as they arrive).
    let mut allow = vec![Method::Options];
    for m in Service::<S>::methods(&pipeline) {
        if !allow.contains(m) {
            allow.push(m.clone());
        }
    }
    Ok(vec![
        Arc::new(pipeline),
        Arc::new(OptionsResponder::new(&allow, &["application/sdp"], &[])),
    ])
}
