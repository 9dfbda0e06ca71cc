//! SIP methods. Method names are case-sensitive (RFC 3261 §7.1), so `invite` is an
//! extension method, not INVITE.

use std::fmt;

use bytestring::ByteString;

use crate::text::is_token;

/// A request method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE (RFC 3261)
    Invite,
    /// ACK (RFC 3261)
    Ack,
    /// BYE (RFC 3261)
    Bye,
    /// CANCEL (RFC 3261)
    Cancel,
    /// OPTIONS (RFC 3261)
    Options,
    /// REGISTER (RFC 3261)
    Register,
    /// SUBSCRIBE (RFC 6665)
    Subscribe,
    /// NOTIFY (RFC 6665)
    Notify,
    /// PUBLISH (RFC 3903)
    Publish,
    /// MESSAGE (RFC 3428)
    Message,
    /// INFO (RFC 6086)
    Info,
    /// PRACK (RFC 3262)
    Prack,
    /// UPDATE (RFC 3311)
    Update,
    /// REFER (RFC 3515)
    Refer,
    /// Any other method token, as written.
    Extension(ByteString),
}

impl Method {
    /// Classifies a method token. Returns `None` when `s` is not a token.
    pub fn parse(s: &str) -> Option<Method> {
        Some(match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "OPTIONS" => Method::Options,
            "REGISTER" => Method::Register,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "PUBLISH" => Method::Publish,
            "MESSAGE" => Method::Message,
            "INFO" => Method::Info,
            "PRACK" => Method::Prack,
            "UPDATE" => Method::Update,
            "REFER" => Method::Refer,
            other if is_token(other) => Method::Extension(ByteString::from(other)),
            _ => return None,
        })
    }

    /// Like [`Method::parse`] but shares `text`'s buffer for extension methods.
    pub(crate) fn parse_shared(text: &ByteString, s: &str) -> Option<Method> {
        match Method::parse_known(s) {
            Some(m) => Some(m),
            None if is_token(s) => Some(Method::Extension(text.slice_ref(s))),
            None => None,
        }
    }

    fn parse_known(s: &str) -> Option<Method> {
        match s.len() {
            3..=9 => match Method::parse(s) {
                Some(Method::Extension(_)) | None => None,
                m => m,
            },
            _ => None,
        }
    }

    /// The method name.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Publish => "PUBLISH",
            Method::Message => "MESSAGE",
            Method::Info => "INFO",
            Method::Prack => "PRACK",
            Method::Update => "UPDATE",
            Method::Refer => "REFER",
            Method::Extension(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_case_sensitive() {
        assert_eq!(Method::parse("INVITE"), Some(Method::Invite));
        assert_eq!(Method::parse("invite").unwrap().as_str(), "invite");
        assert_ne!(Method::parse("invite"), Some(Method::Invite));
        assert_eq!(Method::parse("BAD METHOD"), None);
    }
}
