//! Transaction keys: what makes two messages belong to one transaction (RFC 3261
//! §17.1.3 for responses, §17.2.3 for requests, §9.2 for CANCEL) and what makes two
//! requests "merged" (§8.2.2.2).

use std::fmt;

use sip_message::{ByteString, Message, Method};

/// Which side of the transaction we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// We sent the request.
    Client,
    /// We received the request.
    Server,
}

/// The identity of one transaction in a [`crate::Transactions`] table.
///
/// Branch values are compared case-insensitively: RFC 3261 §7.3.1 makes parameter
/// values case-insensitive unless a header says otherwise, and Via does not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    role: Role,
    id: Id,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Id {
    /// RFC 3261 matching: branch, sent-by (servers only) and method.
    Branch {
        branch: ByteString,
        sent_by: ByteString,
        method: Method,
    },
    /// RFC 2543 matching (§17.2.3, branch without the magic cookie). The Request-URI
    /// and To tag are compared after lookup (see [`crate::table`]): the URI by
    /// §19.1.4 rules, and an ACK's To tag against the response sent.
    Rfc2543 {
        call_id: ByteString,
        from_tag: Option<ByteString>,
        cseq: u32,
        via: ByteString,
        method: Method,
    },
}

impl Key {
    /// Client or server.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The method of the transaction (INVITE for a server key found from an ACK).
    pub fn method(&self) -> &Method {
        match &self.id {
            Id::Branch { method, .. } | Id::Rfc2543 { method, .. } => method,
        }
    }

    /// The branch (lower case), `None` for an RFC 2543 key.
    pub fn branch(&self) -> Option<&str> {
        match &self.id {
            Id::Branch { branch, .. } => Some(branch),
            Id::Rfc2543 { .. } => None,
        }
    }

    /// Whether this key was made by RFC 2543 matching rules.
    pub fn is_rfc2543(&self) -> bool {
        matches!(self.id, Id::Rfc2543 { .. })
    }

    /// The same key with another method: how a CANCEL finds its INVITE (§9.2) and a
    /// client CANCEL finds the INVITE it cancels.
    pub fn with_method(&self, method: Method) -> Key {
        let mut k = self.clone();
        match &mut k.id {
            Id::Branch { method: m, .. } | Id::Rfc2543 { method: m, .. } => *m = method,
        }
        k
    }

    /// The key of a client transaction for a request we send (§17.1.3: branch of the
    /// top Via and the method). Our own requests must carry an RFC 3261 branch.
    pub fn client_for_request(request: &Message) -> Result<Key, String> {
        let via = request.top_via().map_err(|e| e.to_string())?;
        if !via.has_rfc3261_branch() {
            return Err("the top Via has no RFC 3261 branch (z9hG4bK...)".into());
        }
        let method = request.method().ok_or("not a request")?.clone();
        Ok(Key::client(via.branch().unwrap_or(""), method))
    }

    /// The key of the client transaction a response belongs to (§17.1.3: branch of the
    /// top Via and the CSeq method).
    pub fn client_for_response(response: &Message) -> Result<Key, String> {
        let via = response.top_via().map_err(|e| e.to_string())?;
        let branch = via.branch().ok_or("the top Via has no branch")?;
        let cseq = response.cseq().map_err(|e| e.to_string())?;
        Ok(Key::client(branch, cseq.method.clone()))
    }

    fn client(branch: &str, method: Method) -> Key {
        Key {
            role: Role::Client,
            id: Id::Branch {
                branch: lower(branch),
                sent_by: ByteString::new(),
                method,
            },
        }
    }

    /// The key of the server transaction a request belongs to (§17.2.3). An ACK gets
    /// the INVITE's method, since it belongs to the INVITE transaction.
    pub fn server_for_request(request: &Message) -> Result<Key, String> {
        let method = match request.method().ok_or("not a request")? {
            Method::Ack => Method::Invite,
            m => m.clone(),
        };
        let via = request.top_via().map_err(|e| e.to_string())?;
        let id = if via.has_rfc3261_branch() {
            let mut sent_by = via.host().to_ascii_lowercase();
            if let Some(p) = via.port() {
                sent_by.push(':');
                sent_by.push_str(&p.to_string());
            }
            Id::Branch {
                branch: lower(via.branch().unwrap_or("")),
                sent_by: ByteString::from(sent_by),
                method,
            }
        } else {
            let call_id = request.call_id().map_err(|e| e.to_string())?;
            let from = request.from().map_err(|e| e.to_string())?;
            let cseq = request.cseq().map_err(|e| e.to_string())?;
            Id::Rfc2543 {
                call_id: call_id.0.clone(),
                from_tag: from.tag().map(ByteString::from),
                cseq: cseq.seq,
                via: ByteString::from(via.as_str().trim()),
                method,
            }
        };
        Ok(Key {
            role: Role::Server,
            id,
        })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = match self.role {
            Role::Client => "client",
            Role::Server => "server",
        };
        match &self.id {
            Id::Branch {
                branch,
                sent_by,
                method,
            } => {
                write!(f, "{role} {method} {branch}")?;
                if !sent_by.is_empty() {
                    write!(f, " from {sent_by}")?;
                }
                Ok(())
            }
            Id::Rfc2543 {
                call_id,
                cseq,
                method,
                ..
            } => write!(f, "{role} {method} rfc2543 {call_id} {cseq}"),
        }
    }
}

fn lower(s: &str) -> ByteString {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        ByteString::from(s.to_ascii_lowercase())
    } else {
        ByteString::from(s)
    }
}

/// What makes two requests "the same request arriving twice by different paths"
/// (§8.2.2.2): From tag, Call-ID and CSeq (number and method).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct MergeKey {
    call_id: ByteString,
    from_tag: ByteString,
    cseq: u32,
    method: Method,
}

impl MergeKey {
    /// The merge key of a request that has no To tag (only those can be merged);
    /// `None` for ACK and CANCEL, which are never merged, and for requests that lack
    /// what it takes.
    pub(crate) fn of(request: &Message) -> Option<MergeKey> {
        let method = request.method()?;
        if matches!(method, Method::Ack | Method::Cancel) {
            return None;
        }
        if request.to().ok()?.tag().is_some() {
            return None;
        }
        let cseq = request.cseq().ok()?;
        Some(MergeKey {
            call_id: request.call_id().ok()?.0.clone(),
            from_tag: ByteString::from(request.from().ok()?.tag()?),
            cseq: cseq.seq,
            method: cseq.method.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Message {
        Message::parse(s.replace('\n', "\r\n").into_bytes()).expect("test message parses")
    }

    #[test]
    fn ack_and_invite_share_a_server_key_and_cancel_differs_only_by_method() {
        let base = "z9hG4bKabc";
        let msg = |m: &str| {
            parse(&format!(
                "{m} sip:bob@example.com SIP/2.0\nVia: SIP/2.0/UDP Host.Example.com:5060;branch={base}\n\
                 From: <sip:a@example.com>;tag=1\nTo: <sip:bob@example.com>\nCall-ID: c1\n\
                 CSeq: 1 {m}\nContent-Length: 0\n\n"
            ))
        };
        let inv = Key::server_for_request(&msg("INVITE")).unwrap();
        let ack = Key::server_for_request(&msg("ACK")).unwrap();
        let cancel = Key::server_for_request(&msg("CANCEL")).unwrap();
        assert_eq!(inv, ack);
        assert_ne!(inv, cancel);
        assert_eq!(cancel.with_method(Method::Invite), inv);
        assert_eq!(inv.branch(), Some("z9hg4bkabc"));
        assert!(inv.to_string().contains("host.example.com:5060"));
    }

    #[test]
    fn sent_by_is_part_of_a_server_key() {
        let m = |host: &str| {
            parse(&format!(
                "OPTIONS sip:bob@example.com SIP/2.0\nVia: SIP/2.0/UDP {host};branch=z9hG4bK1\n\
                 From: <sip:a@example.com>;tag=1\nTo: <sip:bob@example.com>\nCall-ID: c1\n\
                 CSeq: 1 OPTIONS\nContent-Length: 0\n\n"
            ))
        };
        let a = Key::server_for_request(&m("a.example.com")).unwrap();
        let b = Key::server_for_request(&m("b.example.com")).unwrap();
        let a2 = Key::server_for_request(&m("a.example.com:5060")).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, a2);
    }
}
