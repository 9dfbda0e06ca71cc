//! Message-level checks of RFC 3261 that come after framing: mandatory and
//! single-instance headers, the decodability of the headers every element relies on,
//! the CSeq method, and the version. A server answers a failure with the status and
//! reason of the [`Invalid`] it gets.

use crate::error::Invalid;
use crate::headers::Contact;
use crate::message::{Message, Version};
use crate::name::HeaderKind;

/// Headers whose absence makes any message unusable (RFC 3261 §8.1.1; Max-Forwards is
/// left out so that RFC 2543 requests are still accepted, RFC 4475 §3.4.1).
const MANDATORY: [HeaderKind; 5] = [
    HeaderKind::Via,
    HeaderKind::From,
    HeaderKind::To,
    HeaderKind::CallId,
    HeaderKind::CSeq,
];

impl Message {
    /// Checks the message as RFC 3261 requires before any processing:
    ///
    /// * version SIP/2.0 (else 505);
    /// * Via, From, To, Call-ID and CSeq present (else 400 naming them);
    /// * headers that may appear once appear once (RFC 4475 §3.3.8);
    /// * Via, From, To, Call-ID, CSeq, Max-Forwards, Contact and Content-Type decode;
    /// * `Contact: *` stands alone;
    /// * a request's CSeq method is its method.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.version() != Version::SIP_2_0 {
            let v = self.version();
            return Err(Invalid::new(
                505,
                format!("SIP/{}.{} is not supported", v.major, v.minor),
            ));
        }
        let missing: Vec<&str> = MANDATORY
            .iter()
            .filter(|k| !self.has(**k))
            .map(|k| k.canonical())
            .collect();
        if !missing.is_empty() {
            return Err(Invalid::new(
                400,
                format!("missing mandatory header(s): {}", missing.join(", ")),
            ));
        }
        let mut seen: Vec<HeaderKind> = Vec::new();
        for h in self.headers() {
            if h.kind.is_single() {
                if seen.contains(&h.kind) {
                    return Err(Invalid::new(
                        400,
                        format!("{} appears more than once", h.kind.canonical()),
                    ));
                }
                seen.push(h.kind);
            }
        }
        self.via()?;
        self.from()?;
        self.to()?;
        self.call_id()?;
        let cseq = self.cseq()?;
        self.max_forwards()?;
        let contacts = self.contacts()?;
        if contacts.len() > 1 && contacts.iter().any(|c| matches!(c, Contact::Wildcard)) {
            return Err(Invalid::new(400, "Contact: * must be the only Contact"));
        }
        self.content_type()?;
        if let Some(method) = self.method() {
            if cseq.method != *method {
                return Err(Invalid::new(
                    400,
                    format!(
                        "CSeq method {} does not match the request method {}",
                        cseq.method, method
                    ),
                ));
            }
        }
        Ok(())
    }
}
