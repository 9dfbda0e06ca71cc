//! Dialogs we initiate (RFC 3261 §12.1.2), including the several early dialogs one
//! INVITE can create when a proxy forks it (§12.1.2, §13.2.2.4).

use sip_message::{Message, Method, NameAddr, Uri};

use crate::dialog::{contact_target, creates_dialog, secure_flag, Dialog, DialogState};
use crate::dialog::{LocalParams, Role, Termination};
use crate::error::DialogError;
use crate::id::DialogId;
use crate::route::RouteSet;

/// What a dialog needs to remember of the dialog-creating request we sent.
#[derive(Debug, Clone)]
struct Sent {
    call_id: String,
    local_tag: String,
    from: NameAddr,
    to: NameAddr,
    request_uri: Uri,
    seq: u32,
    method: Method,
    secure: bool,
}

impl Sent {
    fn of(request: &Message, over_tls: bool) -> Result<Sent, DialogError> {
        let method = request.method().ok_or(DialogError::WrongKind("request"))?;
        if !creates_dialog(method) {
            return Err(DialogError::NotDialogCreating(method.clone()));
        }
        let from = request.from()?;
        let local_tag = from.tag().ok_or(DialogError::MissingTag("From"))?;
        let request_uri = request
            .request_uri()
            .ok_or(DialogError::WrongKind("request"))?;
        Ok(Sent {
            call_id: request.call_id()?.as_str().to_owned(),
            local_tag: local_tag.to_owned(),
            from: from.clone(),
            to: request.to()?.clone(),
            request_uri: request_uri.clone(),
            seq: request.cseq()?.seq,
            method: method.clone(),
            secure: secure_flag(Some(request_uri), over_tls),
        })
    }

    /// Checks that `response` answers this request: same Call-ID, our From tag, same
    /// CSeq (the transaction layer matched it by branch; this guards against a caller
    /// handing the wrong pair).
    fn check(&self, response: &Message) -> Result<u16, DialogError> {
        let status = response
            .status()
            .ok_or(DialogError::WrongKind("response"))?;
        if response.call_id()?.as_str() != self.call_id {
            return Err(DialogError::Mismatch("Call-ID"));
        }
        if response.from()?.tag() != Some(self.local_tag.as_str()) {
            return Err(DialogError::Mismatch("From tag"));
        }
        let cseq = response.cseq()?;
        if cseq.seq != self.seq || cseq.method != self.method {
            return Err(DialogError::Mismatch("CSeq"));
        }
        Ok(status)
    }

    /// The dialog `response` (1xx with To tag, or 2xx) creates (§12.1.2).
    fn dialog(
        &self,
        response: &Message,
        state: DialogState,
        contact: &NameAddr,
    ) -> Result<Dialog, DialogError> {
        let remote_tag = response.to()?.tag().unwrap_or("").to_owned();
        let remote = if remote_tag.is_empty() {
            self.to.clone()
        } else {
            self.to.with_param("tag", Some(&remote_tag))
        };
        // §12.1.2: the Contact of the response. A provisional response may lack one
        // (some gateways' 180s do); the Request-URI is then the best target we know.
        let remote_target = contact_target(response)?.unwrap_or_else(|| self.request_uri.clone());
        Ok(Dialog {
            id: DialogId::new(self.call_id.as_str(), self.local_tag.as_str(), remote_tag),
            role: Role::Uac,
            state,
            local_seq: Some(self.seq),
            remote_seq: None,
            local: self.from.clone(),
            remote,
            remote_target,
            route_set: RouteSet::from_response(response)?,
            secure: self.secure,
            local_contact: contact.clone(),
            invite_seq: (self.method == Method::Invite).then_some(self.seq),
        })
    }
}

impl Dialog {
    /// The dialog a UAC gets from `response` to the dialog-creating `request` it
    /// sent: a 101–199 with a To tag makes it early, a 2xx confirmed (§12.1.2).
    /// Route set = the response's Record-Route reversed; remote target = its Contact;
    /// local sequence number = the request's CSeq, remote one empty; remote tag = the
    /// To tag (null when a 2xx has none, §12.1.2).
    ///
    /// One request can create several dialogs when a proxy forks it: use
    /// [`UacDialogs`] to follow them all.
    pub fn uac(
        request: &Message,
        response: &Message,
        local: LocalParams,
    ) -> Result<Dialog, DialogError> {
        let sent = Sent::of(request, local.over_tls)?;
        let status = sent.check(response)?;
        let state = dialog_state(status, response)?;
        sent.dialog(response, state, &local.contact)
    }
}

/// The state a response gives the dialog it creates, or why it creates none.
fn dialog_state(status: u16, response: &Message) -> Result<DialogState, DialogError> {
    match status {
        101..=199 if response.to()?.tag().is_some() => Ok(DialogState::Early),
        101..=199 => Err(DialogError::MissingTag("To")),
        200..=299 => Ok(DialogState::Confirmed),
        _ => Err(DialogError::NoDialogStatus(status)),
    }
}

/// What a response to the dialog-creating request did (§12.1.2, §13.2.2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UacEvent {
    /// No dialog concerned: 100, or a provisional response without a To tag.
    NoDialog,
    /// An early dialog with this remote tag was created (`created`) or got another
    /// provisional response (its remote target refreshed from a Contact, if any).
    Early {
        /// The peer's tag.
        remote_tag: String,
        /// Whether the dialog is new.
        created: bool,
    },
    /// A dialog with this remote tag is confirmed: an early one moved on (its route
    /// set and target recomputed from the 2xx, §13.2.2.4) or a new one was created.
    /// The caller sends the ACK ([`Dialog::create_ack`]).
    Confirmed {
        /// The peer's tag.
        remote_tag: String,
        /// Whether the dialog is new (no provisional response made it early first).
        created: bool,
    },
    /// A retransmitted 2xx for a dialog already confirmed: send its ACK again
    /// (§13.2.2.4).
    Retransmission {
        /// The peer's tag.
        remote_tag: String,
    },
    /// A provisional response for a dialog already confirmed or terminated: nothing
    /// to do.
    Ignored,
    /// A final non-2xx: every early dialog is terminated (§12.3); confirmed ones live on.
    Failed {
        /// The status code.
        status: u16,
        /// Remote tags of the early dialogs terminated.
        terminated: Vec<String>,
    },
}

/// Every dialog one dialog-creating request gave rise to, keyed by remote tag.
///
/// A forking proxy can return provisional responses from several UASs (one early
/// dialog each) and even several 2xx (one confirmed dialog each; the caller ACKs each
/// and usually BYEs all but one, §13.2.2.4). Kept in a `Vec`: forks are few, and
/// arrival order is worth keeping.
#[derive(Debug, Clone)]
pub struct UacDialogs {
    sent: Sent,
    contact: NameAddr,
    dialogs: Vec<Dialog>,
}

impl UacDialogs {
    /// Starts following the responses to `request`, which we are about to send.
    pub fn new(request: &Message, local: LocalParams) -> Result<UacDialogs, DialogError> {
        Ok(UacDialogs {
            sent: Sent::of(request, local.over_tls)?,
            contact: local.contact,
            dialogs: Vec::new(),
        })
    }

    /// Takes a response to the request (the transaction layer matched it).
    pub fn on_response(&mut self, response: &Message) -> Result<UacEvent, DialogError> {
        let status = self.sent.check(response)?;
        if status >= 300 {
            return Ok(UacEvent::Failed {
                status,
                terminated: self.terminate_early(Termination::Rejected(status)),
            });
        }
        let Ok(state) = dialog_state(status, response) else {
            return Ok(UacEvent::NoDialog);
        };
        let remote_tag = response.to()?.tag().unwrap_or("").to_owned();
        let Some(existing) = self
            .dialogs
            .iter_mut()
            .find(|d| d.id.remote_tag == remote_tag)
        else {
            let dialog = self.sent.dialog(response, state, &self.contact)?;
            self.dialogs.push(dialog);
            return Ok(match state {
                DialogState::Early => UacEvent::Early {
                    remote_tag,
                    created: true,
                },
                _ => UacEvent::Confirmed {
                    remote_tag,
                    created: true,
                },
            });
        };
        match (existing.state, state) {
            (DialogState::Early, DialogState::Early) => {
                if let Some(target) = contact_target(response)? {
                    existing.remote_target = target;
                }
                Ok(UacEvent::Early {
                    remote_tag,
                    created: false,
                })
            }
            (DialogState::Early, _) => {
                // §13.2.2.4: the route set is recomputed from the 2xx, and the target
                // follows its Contact (§12.2.1.2) where it has one.
                existing.route_set = RouteSet::from_response(response)?;
                if let Some(target) = contact_target(response)? {
                    existing.remote_target = target;
                }
                existing.state = DialogState::Confirmed;
                Ok(UacEvent::Confirmed {
                    remote_tag,
                    created: false,
                })
            }
            (DialogState::Confirmed, DialogState::Confirmed) => {
                Ok(UacEvent::Retransmission { remote_tag })
            }
            _ => Ok(UacEvent::Ignored),
        }
    }

    /// Terminates every early dialog (a non-2xx final response, or the transaction
    /// timed out: §12.3) and returns their remote tags.
    pub fn terminate_early(&mut self, why: Termination) -> Vec<String> {
        let mut tags = Vec::new();
        for d in &mut self.dialogs {
            if d.state == DialogState::Early {
                d.state = DialogState::Terminated(why);
                tags.push(d.id.remote_tag.clone());
            }
        }
        tags
    }

    /// The dialog with this remote tag.
    pub fn get(&self, remote_tag: &str) -> Option<&Dialog> {
        self.dialogs.iter().find(|d| d.id.remote_tag == remote_tag)
    }

    /// The dialog with this remote tag, to change.
    pub fn get_mut(&mut self, remote_tag: &str) -> Option<&mut Dialog> {
        self.dialogs
            .iter_mut()
            .find(|d| d.id.remote_tag == remote_tag)
    }

    /// Every dialog, in the order the first response of each arrived.
    pub fn iter(&self) -> impl Iterator<Item = &Dialog> {
        self.dialogs.iter()
    }

    /// Number of dialogs, terminated ones included.
    pub fn len(&self) -> usize {
        self.dialogs.len()
    }

    /// Whether no response has created a dialog yet.
    pub fn is_empty(&self) -> bool {
        self.dialogs.is_empty()
    }

    /// Takes the dialogs out (to put them in a [`crate::Dialogs`] table).
    pub fn into_dialogs(self) -> Vec<Dialog> {
        self.dialogs
    }
}
