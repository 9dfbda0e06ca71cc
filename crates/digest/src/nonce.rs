//! Stateless nonces: `<unix-seconds>/<32 hex digits of HMAC-SHA-256>` (see the crate
//! docs for why a MAC).

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::hash::Hex;

/// Bytes of the MAC kept in the nonce: 128 bits, the length of Asterisk's MD5 tag and
/// well above the 80-bit floor RFC 2104 §5 sets for truncation.
const TAG_BYTES: usize = 16;

/// What a nonce turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceState {
    /// Ours, for this address and realm, and young enough.
    Fresh,
    /// Ours, for this address and realm, but older than the lifetime (or issued "in the
    /// future", after the clock was stepped back): the client should retry with a new
    /// one, so the answer is `stale=true`.
    Stale,
    /// Not a nonce we issued for this address and realm: unparseable, forged, from
    /// another process key, another source IP or another realm.
    Invalid,
}

#[cfg(test)]
thread_local! {
    static CT_COMPARES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
pub(crate) fn ct_compares() -> usize {
    CT_COMPARES.with(|c| c.get())
}

pub(crate) fn mac(key: &[u8; 32], secs: u64, ip: IpAddr, realm: &str) -> [u8; TAG_BYTES] {
    // `new_from_slice` only fails for key lengths HMAC cannot take; any length works.
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; TAG_BYTES];
    };
    m.update(&secs.to_be_bytes());
    match ip {
        IpAddr::V4(v4) => {
            m.update(&[4]);
            m.update(&v4.octets());
        }
        IpAddr::V6(v6) => {
            // An IPv4-mapped address is the same client as the plain IPv4 one; a dual
            // stack socket may report either form.
            if let Some(v4) = v6.to_ipv4_mapped() {
                m.update(&[4]);
                m.update(&v4.octets());
            } else {
                m.update(&[6]);
                m.update(&v6.octets());
            }
        }
    }
    // Last, so its length needs no prefix.
    m.update(realm.as_bytes());
    let out = m.finalize().into_bytes();
    let mut tag = [0u8; TAG_BYTES];
    tag.copy_from_slice(&out[..TAG_BYTES]);
    tag
}

pub(crate) fn issue(key: &[u8; 32], now: u64, ip: IpAddr, realm: &str) -> String {
    let tag = mac(key, now, ip, realm);
    let hex = Hex::encode(&tag);
    let mut s = String::with_capacity(20 + 1 + 2 * TAG_BYTES);
    s.push_str(&now.to_string());
    s.push('/');
    s.push_str(hex.as_str());
    s
}

pub(crate) fn check(
    key: &[u8; 32],
    nonce: &str,
    now: u64,
    lifetime: u32,
    ip: IpAddr,
    realm: &str,
) -> NonceState {
    let Some((secs, tag)) = nonce.split_once('/') else {
        return NonceState::Invalid;
    };
    // Only the digits we write: no sign, no leading `+`, at most u64.
    if secs.is_empty() || secs.len() > 20 || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return NonceState::Invalid;
    }
    let Ok(secs) = secs.parse::<u64>() else {
        return NonceState::Invalid;
    };
    let Some(given) = Hex::lowered(tag.as_bytes(), 2 * TAG_BYTES) else {
        return NonceState::Invalid;
    };
    let expected = Hex::encode(&mac(key, secs, ip, realm));
    #[cfg(test)]
    CT_COMPARES.with(|c| c.set(c.get() + 1));
    if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        return NonceState::Invalid;
    }
    match now.checked_sub(secs) {
        Some(age) if age <= u64::from(lifetime) => NonceState::Fresh,
        _ => NonceState::Stale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn round_trip_and_expiry() {
        let n = issue(&KEY, 1_000, ip("192.0.2.1"), "asterisk");
        assert!(n.starts_with("1000/"));
        assert_eq!(n.len(), 5 + 32);
        let c = |now| check(&KEY, &n, now, 32, ip("192.0.2.1"), "asterisk");
        assert_eq!(c(1_000), NonceState::Fresh);
        assert_eq!(c(1_032), NonceState::Fresh);
        assert_eq!(c(1_033), NonceState::Stale);
        assert_eq!(c(999), NonceState::Stale, "clock stepped back");
        // Upper-case hex from a client that re-cased it is still ours.
        let upper = n.to_ascii_uppercase();
        assert_eq!(
            check(&KEY, &upper, 1_001, 32, ip("192.0.2.1"), "asterisk"),
            NonceState::Fresh
        );
    }

    #[test]
    fn bound_to_ip_realm_and_key() {
        let n = issue(&KEY, 1_000, ip("192.0.2.1"), "asterisk");
        assert_eq!(
            check(&KEY, &n, 1_001, 32, ip("192.0.2.2"), "asterisk"),
            NonceState::Invalid
        );
        assert_eq!(
            check(&KEY, &n, 1_001, 32, ip("192.0.2.1"), "other"),
            NonceState::Invalid
        );
        assert_eq!(
            check(&[8; 32], &n, 1_001, 32, ip("192.0.2.1"), "asterisk"),
            NonceState::Invalid
        );
        // The mapped form of the same IPv4 address is the same client.
        assert_eq!(
            check(&KEY, &n, 1_001, 32, ip("::ffff:192.0.2.1"), "asterisk"),
            NonceState::Fresh
        );
    }

    #[test]
    fn tampered_or_garbage() {
        let n = issue(&KEY, 1_000, ip("2001:db8::1"), "r");
        let (_, tag) = n.split_once('/').unwrap();
        let v6 = ip("2001:db8::1");
        // A younger time with the old tag.
        let moved = format!("1010/{tag}");
        assert_eq!(check(&KEY, &moved, 1_010, 32, v6, "r"), NonceState::Invalid);
        let mut flipped = n.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            check(&KEY, &flipped, 1_001, 32, v6, "r"),
            NonceState::Invalid
        );
        for bad in [
            "",
            "/",
            "1000",
            "1000/",
            "+1000/00000000000000000000000000000000",
            "99999999999999999999999/00000000000000000000000000000000",
            "1000/zz000000000000000000000000000000",
            "1000/0000",
            "é/é",
        ] {
            assert_eq!(
                check(&KEY, bad, 1_000, 32, v6, "r"),
                NonceState::Invalid,
                "{bad}"
            );
        }
    }
}
