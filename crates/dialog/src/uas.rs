//! Dialogs we accept (RFC 3261 §12.1.1).

use sip_message::Message;

use crate::dialog::{contact_target, creates_dialog, secure_flag, Dialog, DialogState};
use crate::dialog::{LocalParams, Termination};
use crate::error::DialogError;
use crate::id::DialogId;
use crate::route::RouteSet;

impl Dialog {
    /// The dialog a UAS creates by answering a dialog-creating `request` with
    /// `response` (a 101–199 makes it early, a 2xx confirmed), per §12.1.1:
    ///
    /// - route set = the request's Record-Route in order;
    /// - remote target = the request's Contact (required: §8.1.1.8);
    /// - remote sequence number = the request's CSeq, local sequence number empty;
    /// - local tag = the response's To tag (put it there first with
    ///   [`Message::set_to_tag`] and [`crate::new_tag`]), remote tag = the request's
    ///   From tag (null when absent);
    /// - secure when the request came over TLS to a SIPS Request-URI.
    pub fn uas(
        request: &Message,
        response: &Message,
        local: LocalParams,
    ) -> Result<Dialog, DialogError> {
        let method = request.method().ok_or(DialogError::WrongKind("request"))?;
        let status = response
            .status()
            .ok_or(DialogError::WrongKind("response"))?;
        if !creates_dialog(method) {
            return Err(DialogError::NotDialogCreating(method.clone()));
        }
        let state = match status {
            101..=199 => DialogState::Early,
            200..=299 => DialogState::Confirmed,
            _ => return Err(DialogError::NoDialogStatus(status)),
        };
        if request.to()?.tag().is_some() {
            return Err(DialogError::Mismatch("a request already in a dialog"));
        }
        let to = response.to()?;
        let local_tag = to.tag().ok_or(DialogError::MissingTag("To"))?;
        let call_id = request.call_id()?;
        if response.call_id()? != call_id {
            return Err(DialogError::Mismatch("Call-ID"));
        }
        let from = request.from()?;
        let remote_target = contact_target(request)?.ok_or(DialogError::MissingContact)?;
        Ok(Dialog {
            id: DialogId::new(call_id.as_str(), local_tag, from.tag().unwrap_or("")),
            role: crate::Role::Uas,
            state,
            local_seq: None,
            remote_seq: Some(request.cseq()?.seq),
            local: request.to()?.with_param("tag", Some(local_tag)),
            remote: from.clone(),
            remote_target,
            route_set: RouteSet::from_request(request)?,
            secure: secure_flag(request.request_uri(), local.over_tls),
            local_contact: local.contact,
            invite_seq: None,
        })
    }

    /// Takes our later response to the dialog-creating request of a UAS dialog: a 2xx
    /// confirms an early dialog, a 300–699 terminates it (§12.3), and a provisional
    /// one changes nothing. Responses in a confirmed dialog change nothing either.
    pub fn on_local_response(&mut self, status: u16) {
        if self.state != DialogState::Early {
            return;
        }
        match status {
            200..=299 => self.state = DialogState::Confirmed,
            300.. => self.state = DialogState::Terminated(Termination::Rejected(status)),
            _ => {}
        }
    }
}
