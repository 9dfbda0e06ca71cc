//! Why a dialog could not be created or a request could not be built.
//!
//! Errors render as short sentences, like the message layer's, so that a caller
//! answering a bad request can put one straight into a 400 reason phrase.

use std::fmt;

use sip_message::{HeaderError, Method};

/// A dialog operation that could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DialogError {
    /// A header the dialog needs is missing or does not decode.
    Header(String),
    /// A request was expected and a response was given, or the reverse.
    WrongKind(&'static str),
    /// The method cannot create a dialog (RFC 3261 §12.1: INVITE, SUBSCRIBE, REFER).
    NotDialogCreating(Method),
    /// The response status does not create or keep a dialog (100, 3xx–6xx).
    NoDialogStatus(u16),
    /// A tag the dialog needs is absent (our local tag, or a UAS response's To tag).
    MissingTag(&'static str),
    /// A request that must carry a Contact has none (RFC 3261 §12.1.1, §8.1.1.8).
    MissingContact,
    /// `Contact: *` where one target URI is required.
    WildcardContact,
    /// A response does not belong to the request or dialog it was given for.
    Mismatch(&'static str),
    /// The local CSeq reached 2^32-1 and cannot grow (RFC 3261 §8.1.1.5).
    CSeqExhausted,
    /// The dialog is terminated; no request can be sent in it.
    Terminated,
    /// The method cannot be sent with this call (ACK and CANCEL have their own rules).
    WrongMethod(&'static str),
}

impl From<HeaderError> for DialogError {
    fn from(e: HeaderError) -> Self {
        DialogError::Header(e.to_string())
    }
}

impl fmt::Display for DialogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialogError::Header(e) => f.write_str(e),
            DialogError::WrongKind(what) => write!(f, "expected a {what}"),
            DialogError::NotDialogCreating(m) => write!(f, "{m} does not create a dialog"),
            DialogError::NoDialogStatus(c) => write!(f, "a {c} response creates no dialog"),
            DialogError::MissingTag(which) => write!(f, "missing {which} tag"),
            DialogError::MissingContact => f.write_str("missing Contact"),
            DialogError::WildcardContact => f.write_str("Contact: * is not a target"),
            DialogError::Mismatch(what) => write!(f, "{what} does not match the dialog"),
            DialogError::CSeqExhausted => f.write_str("CSeq number exhausted"),
            DialogError::Terminated => f.write_str("dialog is terminated"),
            DialogError::WrongMethod(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for DialogError {}
