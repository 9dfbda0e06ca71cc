//! The SIP endpoint (being written: issue 3).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
