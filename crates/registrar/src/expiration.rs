//! How long a binding lasts (spec §6.4).
//!
//! The value comes from the Contact's `expires` parameter, else the request's Expires
//! header, else the AOR's `default_expiration`. 0 stays 0 (it means "remove"); anything
//! else is clamped into `[minimum_expiration, maximum_expiration]`.
//!
//! RFC 3261 §10.3 step 7 says a registrar SHOULD answer `423 Interval Too Brief` with a
//! `Min-Expires` header when the asked interval is shorter than its minimum. Asterisk
//! never does (spec §6.2): it raises the interval silently and the 200's Contact shows the
//! granted value, which every client honours. Switchboard follows Asterisk here, so phones
//! configured against Asterisk behave the same.

use sorcery::types::Aor;

/// The three expiration settings of an AOR, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpirationLimits {
    /// `minimum_expiration` (default 60).
    pub minimum: u32,
    /// `maximum_expiration` (default 7200).
    pub maximum: u32,
    /// `default_expiration` (default 3600).
    pub default: u32,
}

impl ExpirationLimits {
    /// The limits configured on `aor`.
    pub fn of(aor: &Aor) -> ExpirationLimits {
        ExpirationLimits {
            minimum: aor.minimum_expiration,
            maximum: aor.maximum_expiration,
            default: aor.default_expiration,
        }
    }

    /// The effective expiration of one Contact: its parameter, else the header, else
    /// the default, then clamped.
    pub fn effective(&self, contact_param: Option<u32>, header: Option<u32>) -> u32 {
        clamp_expiration(contact_param.or(header).unwrap_or(self.default), self)
    }
}

/// 0 stays 0; otherwise the value is raised to the minimum and lowered to the maximum.
///
/// The minimum is applied first and the maximum last, so a configuration with
/// `minimum_expiration > maximum_expiration` grants the maximum, as Asterisk does.
pub fn clamp_expiration(value: u32, limits: &ExpirationLimits) -> u32 {
    if value == 0 {
        return 0;
    }
    let mut v = value;
    if v < limits.minimum {
        v = limits.minimum;
    }
    if v > limits.maximum {
        v = limits.maximum;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: ExpirationLimits = ExpirationLimits {
        minimum: 60,
        maximum: 7200,
        default: 3600,
    };

    #[test]
    fn param_beats_header_beats_default() {
        assert_eq!(L.effective(Some(120), Some(300)), 120);
        assert_eq!(L.effective(None, Some(300)), 300);
        assert_eq!(L.effective(None, None), 3600);
    }

    #[test]
    fn zero_stays_zero_and_others_are_clamped() {
        assert_eq!(L.effective(Some(0), Some(300)), 0);
        assert_eq!(L.effective(None, Some(0)), 0);
        assert_eq!(L.effective(Some(1), None), 60);
        assert_eq!(L.effective(Some(99_999), None), 7200);
        assert_eq!(L.effective(None, Some(u32::MAX)), 7200);
    }

    #[test]
    fn inverted_limits_grant_the_maximum() {
        let l = ExpirationLimits {
            minimum: 600,
            maximum: 100,
            default: 3600,
        };
        assert_eq!(l.effective(Some(30), None), 100);
    }
}
