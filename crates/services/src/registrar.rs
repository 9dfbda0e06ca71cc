//! The registrar service (spec §6): REGISTERs of identified, authenticated endpoints,
//! decided by `sip_registrar`'s rules, made durable through the store's group-commit
//! writer, then applied to the in-memory location service — in that order, so a 200
//! is only ever sent for a binding that survives a crash.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sip_endpoint::responses::reply;
use sip_endpoint::BoxFuture;
use sip_message::{HeaderKind, Message, Method};
use sip_registrar::{
    find_aor, register, AorQuery, Change, ChangeKind, ChangeReason, Location, Registration, Reply,
    Source, TransportKind,
};
use sorcery::contacts::{ContactWrite, ContactWriter};
use sorcery::objects::Objects;
use sorcery::types::endpoint::IdentifyBy;
use sorcery::types::Contact;
use sorcery::value::Text;

use crate::pipeline::{EndpointRequest, EndpointService};
use crate::qualify::QualifyNotifier;
use crate::source::RequestSource;

/// Unix seconds now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Answers REGISTER.
pub struct RegistrarService {
    objects: Arc<Objects>,
    location: Arc<Location>,
    writer: ContactWriter,
    reg_server: String,
    ignore_uri_user_options: bool,
    qualify: Option<QualifyNotifier>,
}

impl RegistrarService {
    /// A registrar over `location`, persisting through `writer`. `reg_server` is this
    /// server's name, recorded on each contact.
    pub fn new(
        objects: Arc<Objects>,
        location: Arc<Location>,
        writer: ContactWriter,
        reg_server: String,
        ignore_uri_user_options: bool,
    ) -> RegistrarService {
        RegistrarService {
            objects,
            location,
            writer,
            reg_server,
            ignore_uri_user_options,
            qualify: None,
        }
    }

    /// Tells the qualify scheduler about every AOR whose contacts this registrar
    /// changes, so that a new contact is probed at once (spec §10) rather than at the
    /// scheduler's next rescan.
    pub fn with_qualify(mut self, notifier: QualifyNotifier) -> RegistrarService {
        self.qualify = Some(notifier);
        self
    }

    async fn run<S: RequestSource>(&self, r: EndpointRequest<S>) -> Message {
        // Everything asynchronous first (the message is not held across awaits).
        let aliases: HashMap<String, Text> = match self.objects.domain_alias.get_all().await {
            Ok(all) => all
                .iter()
                .map(|a| (a.meta.id.to_string(), a.domain.clone()))
                .collect(),
            Err(e) => {
                tracing::warn!("domain aliases unavailable: {e}");
                HashMap::new()
            }
        };
        let endpoint = &r.endpoint;
        let aor_name = {
            let lookup = |host: &str| aliases.get(host).cloned();
            let query = AorQuery {
                endpoint_aors: &endpoint.aors,
                ignore_uri_user_options: self.ignore_uri_user_options,
                by_auth_username: endpoint
                    .settings
                    .identify_by
                    .contains(&IdentifyBy::AuthUsername),
                domain_alias: &lookup,
            };
            find_aor(&r.request.message, &query)
        };
        let aor_name = match aor_name {
            Ok(name) => name,
            Err(refusal) => return respond(&r.request.message, &refusal),
        };
        let aor = match self.objects.aor.get(&aor_name).await {
            Ok(Some(aor)) => aor,
            Ok(None) => {
                return respond(&r.request.message, &Reply::aor_not_found(&aor_name));
            }
            Err(e) => {
                tracing::error!("AOR '{}': {e}", &*aor_name);
                return reply(&r.request.message, 500, None, &[]);
            }
        };
        let now = unix_now();
        let current = self.location.contacts(&aor_name, now);
        let source = Source {
            addr: r.request.source.remote(),
            transport: TransportKind::from_via_token(r.request.source.transport())
                .unwrap_or(TransportKind::Udp),
        };
        let decision = register(&Registration {
            request: &r.request.message,
            endpoint: &endpoint.meta.id,
            aor: &aor,
            current: &current,
            source,
            rewrite_contact: endpoint.settings.rewrite_contact,
            reg_server: &self.reg_server,
            now,
        });
        for why in &decision.ignored {
            tracing::debug!("AOR '{}': {why}", &*aor_name);
        }
        if !decision.changes.is_empty() {
            let writes: Vec<ContactWrite> = decision.changes.iter().map(write_of).collect();
            if let Err(e) = self.writer.submit(writes).await {
                tracing::error!(
                    "AOR '{}': contacts could not be stored ({e}); REGISTER answered 500",
                    &*aor_name
                );
                return reply(&r.request.message, 500, None, &[]);
            }
            // prune_on_boot contacts are bound to the connection the REGISTER came on,
            // and removed when it closes (spec §6.7).
            let connection = r.request.source.connection();
            let undone = self.location.apply_on(&decision.changes, connection);
            if let Some(q) = &self.qualify {
                q.changed(&aor_name);
            }
            for c in &decision.changes {
                log_change(c);
            }
            if !undone.is_empty() {
                // The connection closed while this REGISTER was being stored: its
                // close found nothing to remove then.
                forget_contacts(&self.writer, &undone, ChangeReason::Shutdown).await;
            }
        }
        respond(&r.request.message, &decision.reply)
    }
}

/// The store write a registrar change needs.
fn write_of(change: &Change) -> ContactWrite {
    match change.kind {
        ChangeKind::Add | ChangeKind::Update => ContactWrite::Put(Arc::new(change.contact.clone())),
        ChangeKind::Delete => ContactWrite::Delete(change.contact.meta.id.clone()),
    }
}

/// Asterisk's verbose lines for contact changes (spec §6.10).
pub fn log_change(c: &Change) {
    match c.kind {
        ChangeKind::Add => tracing::info!(
            "Added contact '{}' to AOR '{}' with expiration of {} seconds",
            c.contact.uri.as_str(),
            c.contact.aor(),
            c.expires_in
        ),
        ChangeKind::Update => tracing::debug!(
            "Updated contact '{}' of AOR '{}' to expire in {} seconds",
            c.contact.uri.as_str(),
            c.contact.aor(),
            c.expires_in
        ),
        ChangeKind::Delete => tracing::info!(
            "Removed contact '{}' from AOR '{}' due to {}",
            c.contact.uri.as_str(),
            c.contact.aor(),
            c.reason.as_str()
        ),
    }
}

/// Asterisk's verbose line for a contact removed otherwise than by a REGISTER (spec
/// §6.10): "Removed contact '…' from AOR '…' due to expiration|shutdown".
pub fn log_removed(contact: &Contact, reason: ChangeReason) {
    tracing::info!(
        "Removed contact '{}' from AOR '{}' due to {}",
        contact.uri.as_str(),
        contact.aor(),
        reason.as_str()
    );
}

/// Deletes from the store contacts already removed from the location service (expired,
/// or bound to a connection that closed), logging each with `reason`, in one group
/// commit. A failure is logged: the store keeps them until the next start, which
/// removes expired and this server's `prune_on_boot` contacts anyway.
pub async fn forget_contacts(writer: &ContactWriter, removed: &[Contact], reason: ChangeReason) {
    if removed.is_empty() {
        return;
    }
    for c in removed {
        log_removed(c, reason);
    }
    let writes = removed
        .iter()
        .map(|c| ContactWrite::Delete(c.meta.id.clone()))
        .collect();
    if let Err(e) = writer.submit(writes).await {
        tracing::warn!(
            "{} contact(s) removed due to {} could not be deleted from the store \
             (the next start removes them): {e}",
            removed.len(),
            reason.as_str()
        );
    }
}

/// Removes the contacts bound to a stream connection that has closed (spec §6.7:
/// `prune_on_boot` contacts, registered over that connection): from the location
/// service at once; the returned future logs each ("… due to shutdown", Asterisk's
/// words) and deletes them from the store in one group commit, for the caller to run
/// where it may wait — the loop that learns of the close must not wait on the store.
/// `None` when nothing was bound to the connection (the usual case). The qualify
/// scheduler needs no word, as for expiry: it drops a contact the location service no
/// longer has when its probe falls due.
pub fn connection_closed(
    location: &Location,
    writer: &ContactWriter,
    connection: u64,
) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
    let removed = location.connection_closed(connection);
    if removed.is_empty() {
        return None;
    }
    let writer = writer.clone();
    Some(async move { forget_contacts(&writer, &removed, ChangeReason::Shutdown).await })
}

/// The registrar's reply as a response to `request` (with our To tag).
fn respond(request: &Message, r: &Reply) -> Message {
    let headers: Vec<(HeaderKind, &str)> =
        r.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    reply(request, r.code, Some(&r.reason), &headers)
}

impl<S: RequestSource> EndpointService<S> for RegistrarService {
    fn name(&self) -> &str {
        "registrar"
    }

    fn methods(&self) -> &[Method] {
        &[Method::Register]
    }

    fn handle(&self, r: EndpointRequest<S>) -> BoxFuture<'_, Result<Message, EndpointRequest<S>>> {
        Box::pin(async move {
            if r.request.method() != Some(&Method::Register) {
                return Err(r);
            }
            Ok(self.run(r).await)
        })
    }
}
