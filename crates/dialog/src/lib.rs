//! RFC 3261 §12 dialogs (sans-IO). Being written: see issue 3.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
