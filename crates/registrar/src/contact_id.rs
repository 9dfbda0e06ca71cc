//! Contact object ids (spec §2.4): `<aor>;@<md5hex(uri)>` for registered contacts and
//! `<aor>@@<md5hex(uri)>` for static ones. The same ids as Asterisk, so the rows a
//! Switchboard writes into `ps_contacts` are the rows Asterisk would write, and either
//! can read the other's.

use md5::{Digest, Md5};

fn md5_hex(text: &str) -> String {
    let digest = Md5::digest(text.as_bytes());
    let mut out = String::with_capacity(32);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The id of a contact the registrar made: `<aor>;@<md5 of the stored uri>`.
pub fn dynamic_contact_id(aor: &str, uri: &str) -> String {
    format!("{aor};@{}", md5_hex(uri))
}

/// The id of a static contact from an aor's `contact` option: `<aor>@@<md5 of uri>`.
pub fn static_contact_id(aor: &str, uri: &str) -> String {
    format!("{aor}@@{}", md5_hex(uri))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_asterisk_shape() {
        // md5("") is the well-known d41d8cd98f00b204e9800998ecf8427e.
        assert_eq!(
            dynamic_contact_id("alice", ""),
            "alice;@d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            static_contact_id("alice", ""),
            "alice@@d41d8cd98f00b204e9800998ecf8427e"
        );
    }
}
