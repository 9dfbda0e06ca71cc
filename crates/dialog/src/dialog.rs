//! The dialog state of RFC 3261 §12.1 and what changes it (§12.2).

use sip_message::{Message, Method, NameAddr, Uri};

use crate::error::DialogError;
use crate::id::DialogId;
use crate::route::RouteSet;

/// Which side created the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We sent the dialog-creating request (§12.1.2).
    Uac,
    /// We received it (§12.1.1).
    Uas,
}

/// Where the dialog is in its life (§12, §12.3, §15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a provisional response with a To tag.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
    /// Over; requests in it are answered 481 (except a BYE crossing ours).
    Terminated(Termination),
}

/// Why a dialog ended: explicit, so a session layer can tell a hang-up from a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// We sent BYE (§15.1.1: the session ends when the BYE is handed to its
    /// transaction).
    ByeSent,
    /// We received BYE (§15.1.2).
    ByeReceived,
    /// The dialog-creating request got this non-2xx final response, which ends every
    /// early dialog it created (§12.3).
    Rejected(u16),
    /// A request in the dialog got 481 or 408 (§12.2.1.2).
    Failed(u16),
    /// Ended by the caller (a subscription that expired, a timeout, ...).
    Local,
}

/// What we put in our side of a dialog: our Contact (the remote party's target for
/// us) and whether the dialog-creating request travelled over TLS (half of the secure
/// flag, §12.1.1, §12.1.2; the transport knows it, the message does not).
#[derive(Debug, Clone)]
pub struct LocalParams {
    /// Our Contact, written into requests we build in the dialog.
    pub contact: NameAddr,
    /// Whether the dialog-creating request was sent or received over TLS.
    pub over_tls: bool,
}

/// Why an incoming request must be refused, as the status and reason phrase to
/// answer with (no Retry-After: a retry would meet the same state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: &'static str,
}

impl Rejection {
    /// A request whose CSeq is below the dialog's remote sequence number (§12.2.2).
    /// The reason phrase is pjsip's, so Asterisk users see the same trace.
    pub const OUT_OF_ORDER: Rejection = Rejection {
        status: 500,
        reason: "Invalid CSeq",
    };
    /// A request for a dialog we do not have (§12.2.2).
    pub const NO_DIALOG: Rejection = Rejection {
        status: 481,
        reason: "Call/Transaction Does Not Exist",
    };
    /// A request whose dialog headers do not decode.
    pub const BAD_REQUEST: Rejection = Rejection {
        status: 400,
        reason: "Bad Request",
    };

    /// The response to send (§8.2.6): the request's Via, From, To, Call-ID and CSeq
    /// copied, the status and reason phrase of this rejection.
    pub fn response_to(&self, request: &Message) -> Message {
        Message::response_to(request, self.status, Some(self.reason))
    }
}

/// A request accepted into its dialog (§12.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Accepted {
    /// The remote target was replaced from the request's Contact.
    pub target_refreshed: bool,
    /// The request (a BYE) ended the dialog.
    pub terminated: bool,
}

/// Whether `method` can create a dialog: INVITE (RFC 3261), SUBSCRIBE (RFC 6665)
/// and REFER (RFC 3515, an implicit subscription).
pub fn creates_dialog(method: &Method) -> bool {
    matches!(method, Method::Invite | Method::Subscribe | Method::Refer)
}

/// Whether `method` is a target refresh request: its Contact replaces the remote
/// target (RFC 3261 §12.2: re-INVITE; RFC 3311: UPDATE; RFC 6665 §4.1.2 and §4.2.1:
/// SUBSCRIBE and NOTIFY).
pub fn is_target_refresh(method: &Method) -> bool {
    matches!(
        method,
        Method::Invite | Method::Update | Method::Subscribe | Method::Notify
    )
}

/// One dialog: the state of RFC 3261 §12.1 (id, sequence numbers, URIs, remote
/// target, route set, secure flag) plus its life stage.
#[derive(Debug, Clone)]
pub struct Dialog {
    pub(crate) id: DialogId,
    pub(crate) role: Role,
    pub(crate) state: DialogState,
    pub(crate) local_seq: Option<u32>,
    pub(crate) remote_seq: Option<u32>,
    /// Our From/To value in requests we send: local URI, display name, local tag.
    pub(crate) local: NameAddr,
    /// The peer's: remote URI, display name, remote tag (none when null).
    pub(crate) remote: NameAddr,
    pub(crate) remote_target: Uri,
    pub(crate) route_set: RouteSet,
    pub(crate) secure: bool,
    pub(crate) local_contact: NameAddr,
    /// CSeq number of the last INVITE we sent in the dialog, for its ACK (§13.2.2.4).
    pub(crate) invite_seq: Option<u32>,
}

impl Dialog {
    /// The dialog id.
    pub fn id(&self) -> &DialogId {
        &self.id
    }
    /// Which side created it.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Its life stage.
    pub fn state(&self) -> DialogState {
        self.state
    }
    /// Whether it is terminated.
    pub fn is_terminated(&self) -> bool {
        matches!(self.state, DialogState::Terminated(_))
    }
    /// The CSeq number of the last request we sent in it (empty for a fresh UAS dialog).
    pub fn local_seq(&self) -> Option<u32> {
        self.local_seq
    }
    /// The highest CSeq number the peer used (empty for a fresh UAC dialog).
    pub fn remote_seq(&self) -> Option<u32> {
        self.remote_seq
    }
    /// The local URI (§12.1: From of the UAC's requests, To of the UAS's).
    pub fn local_uri(&self) -> &Uri {
        self.local.uri()
    }
    /// The remote URI.
    pub fn remote_uri(&self) -> &Uri {
        self.remote.uri()
    }
    /// Our address as written in requests we send (with the local tag).
    pub fn local_addr(&self) -> &NameAddr {
        &self.local
    }
    /// The peer's address as written in requests we send (with the remote tag).
    pub fn remote_addr(&self) -> &NameAddr {
        &self.remote
    }
    /// Where requests in the dialog are addressed (the peer's Contact).
    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }
    /// The proxies requests must pass, first hop first.
    pub fn route_set(&self) -> &RouteSet {
        &self.route_set
    }
    /// The secure flag: SIPS Request-URI over TLS (§12.1.1, §12.1.2).
    pub fn is_secure(&self) -> bool {
        self.secure
    }
    /// Our Contact.
    pub fn local_contact(&self) -> &NameAddr {
        &self.local_contact
    }
    /// CSeq number of the last INVITE sent in the dialog, for the ACK of its 2xx.
    pub fn last_invite_seq(&self) -> Option<u32> {
        self.invite_seq
    }

    /// Replaces our Contact (after a transport change, say); later requests carry it.
    pub fn set_local_contact(&mut self, contact: NameAddr) {
        self.local_contact = contact;
    }

    /// Ends the dialog for a reason of the caller's (§12.3: how depends on the
    /// method that created it).
    pub fn terminate(&mut self, why: Termination) {
        self.state = DialogState::Terminated(why);
    }

    /// Takes an incoming request of this dialog (the caller matched it by
    /// [`DialogId`]) through §12.2.2:
    ///
    /// - a CSeq lower than the remote sequence number is out of order: answer
    ///   [`Rejection::OUT_OF_ORDER`] (500); an equal or higher one becomes the remote
    ///   sequence number. ACK and CANCEL carry their INVITE's number (§13.2.2.4, §9.1)
    ///   and are neither checked nor counted, as in pjsip;
    /// - a target refresh request (re-INVITE, UPDATE, SUBSCRIBE, NOTIFY) with a
    ///   Contact replaces the remote target, on receipt as RFC 3261 says (RFC 6141
    ///   later narrowed this to a 2xx answer; answer re-INVITEs before acting on the
    ///   next one and the two agree);
    /// - BYE terminates the dialog;
    /// - in a terminated dialog everything is [`Rejection::NO_DIALOG`] (481), except a
    ///   BYE that crosses ours and ACK, which has no answer.
    pub fn on_request(&mut self, request: &Message) -> Result<Accepted, Rejection> {
        let method = request.method().ok_or(Rejection::BAD_REQUEST)?;
        if let DialogState::Terminated(why) = self.state {
            let crossing_bye = *method == Method::Bye && why == Termination::ByeSent;
            if !crossing_bye && *method != Method::Ack {
                return Err(Rejection::NO_DIALOG);
            }
            return Ok(Accepted::default());
        }
        if matches!(method, Method::Ack | Method::Cancel) {
            return Ok(Accepted::default());
        }
        let seq = request.cseq().map_err(|_| Rejection::BAD_REQUEST)?.seq;
        if self.remote_seq.is_some_and(|r| seq < r) {
            return Err(Rejection::OUT_OF_ORDER);
        }
        let mut accepted = Accepted::default();
        if is_target_refresh(method) {
            let contacts = request.contacts().map_err(|_| Rejection::BAD_REQUEST)?;
            if let Some(addr) = contacts.first().and_then(|c| c.addr()) {
                self.remote_target = addr.uri().clone();
                accepted.target_refreshed = true;
            }
        }
        self.remote_seq = Some(seq);
        if *method == Method::Bye {
            self.state = DialogState::Terminated(Termination::ByeReceived);
            accepted.terminated = true;
        }
        Ok(accepted)
    }

    /// Takes a response to a request we sent in this dialog through §12.2.1.2: a
    /// 2xx to a target refresh request replaces the remote target with its Contact;
    /// 481 and 408 terminate the dialog. Responses to the dialog-creating request
    /// belong to [`crate::UacDialogs`]. Returns whether the remote target changed.
    pub fn on_response(&mut self, response: &Message) -> Result<bool, DialogError> {
        let status = response
            .status()
            .ok_or(DialogError::WrongKind("response"))?;
        if !self.id.matches_response(response) {
            return Err(DialogError::Mismatch("response"));
        }
        if matches!(status, 408 | 481) {
            self.state = DialogState::Terminated(Termination::Failed(status));
            return Ok(false);
        }
        let method = &response.cseq()?.method;
        if (200..300).contains(&status) && is_target_refresh(method) {
            if let Some(addr) = response.contacts()?.first().and_then(|c| c.addr()) {
                self.remote_target = addr.uri().clone();
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The remote target from a message's first Contact, if it has one (`*` is an error).
pub(crate) fn contact_target(m: &Message) -> Result<Option<Uri>, DialogError> {
    match m.contacts()?.first() {
        None => Ok(None),
        Some(c) => c
            .addr()
            .map(|a| Some(a.uri().clone()))
            .ok_or(DialogError::WildcardContact),
    }
}

/// The secure flag of §12.1.1 and §12.1.2: TLS and a SIPS Request-URI.
pub(crate) fn secure_flag(request_uri: Option<&Uri>, over_tls: bool) -> bool {
    over_tls
        && request_uri
            .and_then(Uri::as_sip)
            .is_some_and(|u| u.is_secure())
}
