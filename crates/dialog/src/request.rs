//! Requests within a dialog (RFC 3261 §12.2.1.1) and the ACK for a 2xx (§13.2.2.4).

use sip_message::{HeaderKind, Message, Method};

use crate::dialog::{Dialog, DialogState, Role, Termination};
use crate::error::DialogError;

/// Max-Forwards of requests we originate (RFC 3261 §8.1.1.6).
const MAX_FORWARDS: &str = "70";

impl Dialog {
    /// Builds the next request of `method` in the dialog (§12.2.1.1): Request-URI and
    /// Route from the remote target and route set (loose or strict routing, see
    /// [`crate::RouteSet::destination`]), From with the local tag, To with the remote
    /// tag, the dialog's Call-ID, CSeq = local sequence number + 1 (1 when empty: any
    /// starting value below 2^31 is allowed, §8.1.1.5), Max-Forwards 70, and our
    /// Contact except on BYE (RFC 3261 §20 table 3 has no Contact in BYE).
    ///
    /// The top Via is left to the caller: its branch belongs to the transaction, its
    /// sent-by to the transport (`prepend_header` puts it first). Sending an INVITE
    /// records its number for [`Dialog::create_ack`]; sending BYE terminates the dialog
    /// ([`Termination::ByeSent`], §15.1.1). In a dialog terminated that way, only a
    /// BYE can still be built (a retry with credentials after 401/407).
    ///
    /// ACK is built by [`Dialog::create_ack`]; CANCEL is not a dialog request (§9.1:
    /// the transaction layer builds it from the INVITE). The callee may not send BYE
    /// in an early dialog (§15): it answers the INVITE with a final response instead.
    pub fn create_request(&mut self, method: Method) -> Result<Message, DialogError> {
        match method {
            Method::Ack => {
                return Err(DialogError::WrongMethod(
                    "ACK takes the INVITE's CSeq: use create_ack",
                ))
            }
            Method::Cancel => {
                return Err(DialogError::WrongMethod(
                    "CANCEL is built from the INVITE by its transaction",
                ))
            }
            _ => {}
        }
        match self.state {
            DialogState::Terminated(Termination::ByeSent) if method == Method::Bye => {}
            DialogState::Terminated(_) => return Err(DialogError::Terminated),
            DialogState::Early if self.role == Role::Uas && method == Method::Bye => {
                return Err(DialogError::WrongMethod(
                    "the callee ends an early dialog with a final response, not BYE",
                ))
            }
            _ => {}
        }
        let seq = match self.local_seq {
            Some(n) => n.checked_add(1).ok_or(DialogError::CSeqExhausted)?,
            None => 1,
        };
        let request = self.build(method.clone(), seq)?;
        self.local_seq = Some(seq);
        match method {
            Method::Invite => self.invite_seq = Some(seq),
            Method::Bye => self.state = DialogState::Terminated(Termination::ByeSent),
            _ => {}
        }
        Ok(request)
    }

    /// Builds the ACK for a 2xx to the INVITE numbered `invite_seq` (§13.2.2.4): the
    /// INVITE's CSeq number with method ACK, Request-URI and Route as for any request
    /// in the dialog. The local sequence number does not move. For the INVITE the
    /// dialog itself sent, the number is [`Dialog::last_invite_seq`]. The Via (with a
    /// new branch: the ACK of a 2xx is its own transaction) is the caller's, as are
    /// the INVITE's credentials and the body, when there is an offer to answer.
    pub fn create_ack(&self, invite_seq: u32) -> Result<Message, DialogError> {
        self.build(Method::Ack, invite_seq)
    }

    fn build(&self, method: Method, seq: u32) -> Result<Message, DialogError> {
        let dest = self.route_set.destination(&self.remote_target);
        let contact = method != Method::Bye;
        let cseq = format!("{seq} {method}");
        let mut m = Message::request(method, dest.request_uri);
        for route in &dest.routes {
            m.push_header(HeaderKind::Route, route)?;
        }
        m.push_header(HeaderKind::MaxForwards, MAX_FORWARDS)?;
        m.push_header(HeaderKind::From, self.local.as_str())?;
        m.push_header(HeaderKind::To, self.remote.as_str())?;
        m.push_header(HeaderKind::CallId, &self.id.call_id)?;
        m.push_header(HeaderKind::CSeq, &cseq)?;
        if contact {
            m.push_header(HeaderKind::Contact, self.local_contact.as_str())?;
        }
        Ok(m)
    }
}
