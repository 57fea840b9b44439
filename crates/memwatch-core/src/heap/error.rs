//! The parser's error: what went wrong and at which byte.

use std::fmt;

/// A `.heapsnapshot` could not be read. `Display` gives one line naming what
/// was wrong and the byte offset in the input where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset in the input (u64: snapshots can exceed 4 GB).
    pub offset: u64,
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(offset: u64, message: impl Into<String>) -> Self {
        Self {
            offset,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.offset)
    }
}

impl std::error::Error for ParseError {}

/// How a byte is shown in a message: the character when printable ASCII.
pub(crate) fn show_byte(b: u8) -> String {
    if b.is_ascii_graphic() || b == b' ' {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}
