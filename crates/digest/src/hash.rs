//! The hashes of RFC 7616 §3.4.1–3.4.3, kept on the stack as lower-case hex.

use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};

use crate::Algorithm;

/// A hash in lower-case hex (at most 64 digits), without allocating.
#[derive(Clone, Copy)]
pub(crate) struct Hex {
    buf: [u8; 64],
    len: u8,
}

impl Hex {
    /// The hex digits.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    /// The hex digits as text (always ASCII).
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// Takes a configured hex digest, lower-casing it; `None` if it is not the length
    /// of `algorithm`'s hash or not hex (the store checks this already; a caller
    /// building [`crate::Auth`] by hand might not).
    pub(crate) fn from_hex(hex: &str, algorithm: Algorithm) -> Option<Hex> {
        Hex::lowered(hex.as_bytes(), algorithm.hex_len())
    }

    /// `text` lower-cased if it is exactly `len` hex digits.
    pub(crate) fn lowered(text: &[u8], len: usize) -> Option<Hex> {
        if text.len() != len || len > 64 || !text.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let mut buf = [0u8; 64];
        for (d, s) in buf.iter_mut().zip(text) {
            *d = s.to_ascii_lowercase();
        }
        Some(Hex {
            buf,
            len: len as u8,
        })
    }

    pub(crate) fn encode(bytes: &[u8]) -> Hex {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 64];
        let n = bytes.len().min(32);
        for (i, b) in bytes[..n].iter().enumerate() {
            buf[2 * i] = DIGITS[usize::from(b >> 4)];
            buf[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
        }
        Hex {
            buf,
            len: (2 * n) as u8,
        }
    }
}

fn run<D: Digest>(parts: &[&[u8]]) -> Hex {
    let mut d = D::new();
    for p in parts {
        d.update(p);
    }
    Hex::encode(&d.finalize())
}

/// `H(parts joined)`: the caller writes the `:` separators as parts, so nothing is
/// concatenated into a temporary string.
pub(crate) fn h(algorithm: Algorithm, parts: &[&[u8]]) -> Hex {
    match algorithm {
        Algorithm::Md5 => run::<Md5>(parts),
        Algorithm::Sha256 => run::<Sha256>(parts),
        Algorithm::Sha512_256 => run::<Sha512_256>(parts),
    }
}

/// `H(A1)` = `H(username:realm:password)` (RFC 7616 §3.4.2, non-`-sess`).
pub(crate) fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> Hex {
    h(
        algorithm,
        &[
            username.as_bytes(),
            b":",
            realm.as_bytes(),
            b":",
            password.as_bytes(),
        ],
    )
}

/// The qop part of a response: `nc:cnonce:qop` (only `auth` is supported).
pub(crate) struct Qop<'a> {
    pub(crate) nc: &'a str,
    pub(crate) cnonce: &'a str,
}

/// The `response` (RFC 7616 §3.4.1): `H(H(A1):nonce:nc:cnonce:auth:H(A2))` with qop,
/// `H(H(A1):nonce:H(A2))` without (RFC 2069), where `H(A2)` = `H(method:uri)` (body-less
/// `auth`).
pub(crate) fn response(
    algorithm: Algorithm,
    ha1: &Hex,
    nonce: &str,
    qop: Option<Qop<'_>>,
    method: &str,
    uri: &str,
) -> Hex {
    let ha2 = h(algorithm, &[method.as_bytes(), b":", uri.as_bytes()]);
    match qop {
        Some(q) => h(
            algorithm,
            &[
                ha1.as_bytes(),
                b":",
                nonce.as_bytes(),
                b":",
                q.nc.as_bytes(),
                b":",
                q.cnonce.as_bytes(),
                b":auth:",
                ha2.as_bytes(),
            ],
        ),
        None => h(
            algorithm,
            &[ha1.as_bytes(), b":", nonce.as_bytes(), b":", ha2.as_bytes()],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hashes() {
        assert_eq!(
            h(Algorithm::Md5, &[b"abc"]).as_str(),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            h(Algorithm::Sha256, &[b"a", b"bc"]).as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // FIPS 180-4 example for SHA-512/256 over "abc".
        assert_eq!(
            h(Algorithm::Sha512_256, &[b"abc"]).as_str(),
            "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"
        );
    }

    #[test]
    fn hex_input_is_checked() {
        assert!(Hex::from_hex("ABCDEF0123456789abcdef0123456789", Algorithm::Md5).is_some());
        assert!(Hex::from_hex("abc", Algorithm::Md5).is_none());
        assert!(Hex::from_hex("zz".repeat(16).as_str(), Algorithm::Md5).is_none());
        assert_eq!(
            Hex::lowered(b"ABCD", 4).map(|h| h.as_str().to_owned()),
            Some("abcd".to_owned())
        );
    }
}
