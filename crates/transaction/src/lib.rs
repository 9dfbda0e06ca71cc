//! RFC 3261 §17 transactions (sans-IO). Being written: see issue 3.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
