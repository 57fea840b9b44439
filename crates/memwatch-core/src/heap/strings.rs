//! The snapshot's string table: every name in one buffer.
//!
//! Why one buffer plus offsets rather than `Vec<String>`: a large snapshot has
//! hundreds of thousands of strings, and one allocation each would cost more
//! in headers and fragmentation than the text itself.

/// Strings addressed by a `u32` index, stored back to back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StringTable {
    text: String,
    /// `ends[i]` is where string `i` stops; it starts where `i - 1` stopped.
    ends: Vec<usize>,
}

impl StringTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Appends `s` (no de-duplication) and returns its index.
    pub fn push(&mut self, s: &str) -> usize {
        self.text.push_str(s);
        self.ends.push(self.text.len());
        self.ends.len() - 1
    }

    /// String `index`, or `None` past the end.
    pub fn get(&self, index: u32) -> Option<&str> {
        let i = usize::try_from(index).ok()?;
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..end)
    }

    /// Builds a table from already-concatenated text and end offsets.
    /// Returns `None` if an offset is out of order, past the text, or not on a
    /// character boundary (the parser never produces such a table).
    pub(crate) fn from_parts(text: String, ends: Vec<usize>) -> Option<Self> {
        let mut prev = 0;
        for &end in &ends {
            if end < prev || !text.is_char_boundary(end) {
                return None;
            }
            prev = end;
        }
        Some(Self { text, ends })
    }

    /// Bytes of text held (for memory accounting).
    pub fn text_bytes(&self) -> usize {
        self.text.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_and_get() {
        let mut t = StringTable::new();
        assert_eq!(t.push(""), 0);
        assert_eq!(t.push("héllo"), 1);
        assert_eq!(t.push("x"), 2);
        assert_eq!(t.get(0), Some(""));
        assert_eq!(t.get(1), Some("héllo"));
        assert_eq!(t.get(2), Some("x"));
        assert_eq!(t.get(3), None);
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn from_parts_rejects_bad_offsets() {
        assert!(StringTable::from_parts("ab".into(), vec![1, 2]).is_some());
        assert!(StringTable::from_parts("ab".into(), vec![2, 1]).is_none());
        assert!(StringTable::from_parts("ab".into(), vec![3]).is_none());
        assert!(StringTable::from_parts("é".into(), vec![1]).is_none());
    }
}
