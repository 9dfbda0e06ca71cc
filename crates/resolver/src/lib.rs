//! RFC 3263 server location (being written: issue 3).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
