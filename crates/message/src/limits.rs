//! Bounds on what the parser accepts, so that a hostile peer cannot make it allocate or
//! scan without end.

/// Parser limits. The defaults accept every legitimate message seen in practice
/// (a REGISTER is ~600 bytes, a large INVITE with SDP ~4 KiB, RFC 4475's longest
/// torture message 3.5 KiB) while bounding the work per message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message, start line to the end of the body, in bytes.
    pub max_message_size: usize,
    /// Most header fields (lines, counting each repeated name) in one message.
    pub max_headers: usize,
    /// Longest header field, folded continuation lines included, in bytes.
    pub max_header_line: usize,
    /// Deepest nesting of comments / quoted constructs a typed parser follows.
    pub max_nesting: usize,
    /// Most elements a comma-separated header list may decode into (Via, Contact, ...).
    pub max_list_elements: usize,
}

impl Limits {
    /// The defaults: 64 KiB messages, 256 headers, 8 KiB header fields, nesting 16,
    /// 128 list elements.
    pub const DEFAULT: Limits = Limits {
        max_message_size: 65_535,
        max_headers: 256,
        max_header_line: 8_192,
        max_nesting: 16,
        max_list_elements: 128,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
