//! The dialogs of one endpoint, found by id; where an incoming request's dialog is
//! looked up and an unknown one is answered 481 (RFC 3261 §12.2.2).

use std::collections::HashMap;

use sip_message::{Message, Method};

use crate::dialog::{Accepted, Dialog, Rejection};
use crate::id::DialogId;

/// Where an incoming request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// To has no tag: the request is outside any dialog (a new INVITE, an
    /// out-of-dialog OPTIONS, the CANCEL of an initial INVITE, ...).
    OutOfDialog,
    /// In a known dialog and accepted by it.
    InDialog {
        /// The dialog.
        id: DialogId,
        /// What the request changed.
        accepted: Accepted,
    },
    /// Answer with this status and reason ([`Rejection::response_to`]): 481 for an
    /// unknown dialog, 500 for a CSeq out of order, 400 for undecodable headers.
    Reject(Rejection),
    /// An ACK for no known dialog: ACK has no response, so it is dropped (§17.2.3
    /// leaves ACKs for non-2xx to the server transaction, which never passes them up).
    Drop,
}

/// Dialogs keyed by [`DialogId`].
#[derive(Debug, Clone, Default)]
pub struct Dialogs {
    map: HashMap<DialogId, Dialog>,
}

impl Dialogs {
    /// An empty table.
    pub fn new() -> Dialogs {
        Dialogs::default()
    }

    /// Adds a dialog, returning any dialog that had the same id.
    pub fn insert(&mut self, dialog: Dialog) -> Option<Dialog> {
        self.map.insert(dialog.id().clone(), dialog)
    }

    /// The dialog with this id.
    pub fn get(&self, id: &DialogId) -> Option<&Dialog> {
        self.map.get(id)
    }

    /// The dialog with this id, to change (build requests, take responses).
    pub fn get_mut(&mut self, id: &DialogId) -> Option<&mut Dialog> {
        self.map.get_mut(id)
    }

    /// Removes a dialog (once it is terminated and its last transaction is over).
    pub fn remove(&mut self, id: &DialogId) -> Option<Dialog> {
        self.map.remove(id)
    }

    /// Number of dialogs.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The dialog a response to one of our requests belongs to (From tag = local tag,
    /// To tag = remote tag), if we have it.
    pub fn for_response(&mut self, response: &Message) -> Option<&mut Dialog> {
        let id = DialogId::of_response(response).ok()?;
        self.map.get_mut(&id)
    }

    /// Looks up an incoming request's dialog and runs it through
    /// [`Dialog::on_request`] (§12.2.2). A request with a To tag but no dialog gets
    /// [`Rejection::NO_DIALOG`] (481), unless it is an ACK.
    pub fn on_request(&mut self, request: &Message) -> Routed {
        let is_ack = request.method() == Some(&Method::Ack);
        let id = match DialogId::of_incoming_request(request) {
            Ok(Some(id)) => id,
            Ok(None) => return Routed::OutOfDialog,
            Err(_) if is_ack => return Routed::Drop,
            Err(_) => return Routed::Reject(Rejection::BAD_REQUEST),
        };
        let Some(dialog) = self.map.get_mut(&id) else {
            return if is_ack {
                Routed::Drop
            } else {
                Routed::Reject(Rejection::NO_DIALOG)
            };
        };
        match dialog.on_request(request) {
            Ok(accepted) => Routed::InDialog { id, accepted },
            Err(rejection) => Routed::Reject(rejection),
        }
    }
}
