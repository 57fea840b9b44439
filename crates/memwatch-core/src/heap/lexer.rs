//! An incremental JSON tokenizer over any `Read`, for the snapshot parser.
//!
//! Why hand-written: the snapshot is one huge object whose bulk is two flat
//! arrays of unsigned integers. Reading those digit by digit from a 1 MB
//! buffer into `u64`s, with no token objects and no tree, is what makes the
//! parse fast and its memory proportional to the graph, not the text. Other
//! values are either read into small strings (meta) or skipped.

use std::io::{ErrorKind, Read};

use super::error::{show_byte, ParseError};

pub(crate) type LexResult<T> = Result<T, ParseError>;

/// Bytes asked of the reader at a time, at most. The buffer starts at
/// `FIRST_CHUNK` and doubles with each full read, so a small input does not
/// pay for zeroing a megabyte.
const CHUNK: usize = 1 << 20;
const FIRST_CHUNK: usize = 1 << 13;
/// Deepest nesting `skip_value` follows before calling the input absurd;
/// bounds its stack (a `Vec`, not recursion) for hostile input.
const MAX_SKIP_DEPTH: usize = 1 << 20;

pub(crate) struct Lexer<'p, R: Read> {
    reader: R,
    /// Bytes read and not yet consumed are `buf[pos..]`.
    buf: Vec<u8>,
    pos: usize,
    /// Bytes to ask for on the next read.
    chunk: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    progress: Option<&'p mut dyn FnMut(u64)>,
}

impl<'p, R: Read> Lexer<'p, R> {
    pub(crate) fn new(reader: R, progress: Option<&'p mut dyn FnMut(u64)>) -> Self {
        Self {
            reader,
            buf: Vec::new(),
            pos: 0,
            chunk: FIRST_CHUNK,
            base: 0,
            progress,
        }
    }

    /// Byte offset of the next unconsumed byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn eof_error(&self, what: &str) -> ParseError {
        ParseError::new(
            self.offset(),
            format!("unexpected end of input while reading {what}"),
        )
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError::new(self.offset(), message)
    }

    /// Replaces the consumed buffer with the next chunk. Returns false at the
    /// end of the input. Only called once `buf[pos..]` is empty.
    #[cold]
    fn fill(&mut self) -> LexResult<bool> {
        self.base += self.buf.len() as u64;
        self.pos = 0;
        self.buf.resize(self.chunk, 0);
        let n = loop {
            match self.reader.read(&mut self.buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.clear();
                    return Err(ParseError::new(self.base, format!("read error: {e}")));
                }
            }
        };
        self.buf.truncate(n);
        if n == self.chunk {
            self.chunk = (self.chunk * 2).min(CHUNK);
        }
        if let Some(progress) = self.progress.as_mut() {
            progress(self.base + n as u64);
        }
        Ok(n > 0)
    }

    /// The next byte, not consumed; `None` at the end of the input.
    #[inline]
    fn peek(&mut self) -> LexResult<Option<u8>> {
        if let Some(&b) = self.buf.get(self.pos) {
            return Ok(Some(b));
        }
        if self.fill()? {
            Ok(self.buf.get(self.pos).copied())
        } else {
            Ok(None)
        }
    }

    /// The next byte, consumed; an error naming `what` at the end of input.
    #[inline]
    fn next_byte(&mut self, what: &str) -> LexResult<u8> {
        match self.peek()? {
            Some(b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.eof_error(what)),
        }
    }

    /// Skips JSON whitespace and returns the next byte without consuming it.
    #[inline]
    pub(crate) fn peek_token(&mut self) -> LexResult<Option<u8>> {
        loop {
            while let Some(&b) = self.buf.get(self.pos) {
                if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                    return Ok(Some(b));
                }
                self.pos += 1;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Like [`peek_token`](Self::peek_token), but the end of input is an error.
    pub(crate) fn peek_token_in(&mut self, what: &str) -> LexResult<u8> {
        match self.peek_token()? {
            Some(b) => Ok(b),
            None => Err(self.eof_error(what)),
        }
    }

    /// Skips whitespace and consumes `expected`, or reports what was there.
    pub(crate) fn expect(&mut self, expected: u8, what: &str) -> LexResult<()> {
        let b = self.peek_token_in(what)?;
        if b != expected {
            return Err(self.error(format!(
                "expected '{}' but found {} in {what}",
                expected as char,
                show_byte(b)
            )));
        }
        self.pos += 1;
        Ok(())
    }

    /// After an element of an array: consumes `,` (true) or `]` (false).
    #[inline]
    pub(crate) fn array_continues(&mut self, what: &str) -> LexResult<bool> {
        self.separator(b']', what)
    }

    /// After a member of an object: consumes `,` (true) or `}` (false).
    pub(crate) fn object_continues(&mut self, what: &str) -> LexResult<bool> {
        self.separator(b'}', what)
    }

    fn separator(&mut self, close: u8, what: &str) -> LexResult<bool> {
        match self.peek_token_in(what)? {
            b',' => {
                self.pos += 1;
                Ok(true)
            }
            b if b == close => {
                self.pos += 1;
                Ok(false)
            }
            b => Err(self.error(format!(
                "expected ',' or '{}' but found {} in {what}",
                close as char,
                show_byte(b)
            ))),
        }
    }

    /// Consumes `open` and tells whether the container is non-empty (if it is
    /// empty, its closing bracket is consumed too).
    pub(crate) fn open(&mut self, open: u8, what: &str) -> LexResult<bool> {
        self.expect(open, what)?;
        let close = if open == b'[' { b']' } else { b'}' };
        if self.peek_token_in(what)? == close {
            self.pos += 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// Reads an unsigned integer that fits in `u64`, rejecting signs,
    /// fractions, exponents and leading zeros with a message saying which.
    #[inline]
    pub(crate) fn read_uint(&mut self, what: &str) -> LexResult<u64> {
        let start = self.offset();
        let first = self.peek_token_in(what)?;
        if !first.is_ascii_digit() {
            let message = match first {
                b'-' => format!("negative number in {what}"),
                b'"' => format!("expected a number but found a string in {what}"),
                _ => format!("expected a number but found {} in {what}", show_byte(first)),
            };
            return Err(ParseError::new(start, message));
        }
        let mut value: u64 = 0;
        let mut digits: u64 = 0;
        loop {
            let chunk = &self.buf[self.pos..];
            let mut i = 0;
            while let Some(&b) = chunk.get(i) {
                let d = b.wrapping_sub(b'0');
                if d > 9 {
                    break;
                }
                value = match value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(u64::from(d)))
                {
                    Some(v) => v,
                    None => {
                        return Err(ParseError::new(
                            start,
                            format!("number too large for 64 bits in {what}"),
                        ))
                    }
                };
                i += 1;
            }
            self.pos += i;
            digits += i as u64;
            if self.pos < self.buf.len() || !self.fill()? {
                break;
            }
        }
        if first == b'0' && digits > 1 {
            return Err(ParseError::new(
                start,
                format!("number with a leading zero in {what}"),
            ));
        }
        if let Some(b'.' | b'e' | b'E') = self.peek()? {
            return Err(ParseError::new(
                start,
                format!("non-integer number in {what}"),
            ));
        }
        Ok(value)
    }

    /// Reads `[n, n, ...]` of unsigned integers, handing each to `each` with
    /// its byte offset. Returns how many there were.
    #[inline]
    pub(crate) fn read_uint_array(
        &mut self,
        what: &str,
        mut each: impl FnMut(u64, u64) -> LexResult<()>,
    ) -> LexResult<u64> {
        if !self.open(b'[', what)? {
            return Ok(0);
        }
        let mut count = 0u64;
        loop {
            self.peek_token_in(what)?;
            let at = self.offset();
            let value = self.read_uint(what)?;
            each(value, at)?;
            count += 1;
            if !self.array_continues(what)? {
                return Ok(count);
            }
        }
    }

    /// Reads a JSON string, decoding escapes, and appends its UTF-8 to `out`.
    /// Lone surrogates (which V8 can emit for JS strings) become U+FFFD.
    pub(crate) fn read_string_into(&mut self, out: &mut Vec<u8>, what: &str) -> LexResult<()> {
        let start = self.offset();
        self.expect(b'"', what)?;
        let out_start = out.len();
        let mut pending_high: Option<u32> = None;
        loop {
            let chunk = &self.buf[self.pos..];
            let run = chunk
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(chunk.len());
            if run > 0 {
                if pending_high.take().is_some() {
                    push_char(out, char::REPLACEMENT_CHARACTER);
                }
                out.extend_from_slice(&chunk[..run]);
                self.pos += run;
            }
            let Some(b) = self.peek()? else {
                return Err(self.eof_error(what));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    if pending_high.take().is_some() {
                        push_char(out, char::REPLACEMENT_CHARACTER);
                    }
                    break;
                }
                b'\\' => {
                    self.pos += 1;
                    let escape = self.next_byte(what)?;
                    if escape == b'u' {
                        let unit = self.read_hex4(what)?;
                        if let Some(high) = pending_high.take() {
                            if (0xDC00..=0xDFFF).contains(&unit) {
                                let c = 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00);
                                push_char(out, char::from_u32(c).unwrap_or('\u{FFFD}'));
                                continue;
                            }
                            push_char(out, char::REPLACEMENT_CHARACTER);
                        }
                        if (0xD800..=0xDBFF).contains(&unit) {
                            pending_high = Some(unit);
                        } else {
                            push_char(out, char::from_u32(unit).unwrap_or('\u{FFFD}'));
                        }
                        continue;
                    }
                    if pending_high.take().is_some() {
                        push_char(out, char::REPLACEMENT_CHARACTER);
                    }
                    let decoded = match escape {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        other => {
                            return Err(ParseError::new(
                                self.offset() - 1,
                                format!(
                                    "invalid escape (backslash then {}) in {what}",
                                    show_byte(other)
                                ),
                            ))
                        }
                    };
                    out.push(decoded);
                }
                b if b < 0x20 => {
                    return Err(self.error(format!(
                        "unescaped control character {} in a string in {what}",
                        show_byte(b)
                    )))
                }
                // A plain byte that arrived with a refill: scan on.
                _ => {}
            }
        }
        if std::str::from_utf8(&out[out_start..]).is_err() {
            return Err(ParseError::new(
                start,
                format!("invalid UTF-8 in a string in {what}"),
            ));
        }
        Ok(())
    }

    fn read_hex4(&mut self, what: &str) -> LexResult<u32> {
        let mut unit = 0u32;
        for _ in 0..4 {
            let b = self.next_byte(what)?;
            let digit = (b as char).to_digit(16).ok_or_else(|| {
                ParseError::new(
                    self.offset() - 1,
                    format!("invalid \\u escape ({}) in {what}", show_byte(b)),
                )
            })?;
            unit = unit * 16 + digit;
        }
        Ok(unit)
    }

    /// Reads a JSON string into a new `String`.
    pub(crate) fn read_string(&mut self, what: &str) -> LexResult<String> {
        let mut bytes = Vec::new();
        let start = self.offset();
        self.read_string_into(&mut bytes, what)?;
        String::from_utf8(bytes)
            .map_err(|_| ParseError::new(start, format!("invalid UTF-8 in a string in {what}")))
    }

    /// Skips one JSON value of any shape, iteratively (a `Vec` stack, so deep
    /// nesting such as `trace_tree` cannot overflow the call stack).
    pub(crate) fn skip_value(&mut self, what: &str) -> LexResult<()> {
        let mut stack: Vec<u8> = Vec::new();
        let mut scratch = Vec::new();
        loop {
            // A value is expected here.
            match self.peek_token_in(what)? {
                open @ (b'{' | b'[') => {
                    if self.open(open, what)? {
                        if stack.len() >= MAX_SKIP_DEPTH {
                            return Err(self.error(format!("JSON nested too deeply in {what}")));
                        }
                        stack.push(open);
                        if open == b'{' {
                            scratch.clear();
                            self.read_string_into(&mut scratch, what)?;
                            self.expect(b':', what)?;
                        }
                        continue;
                    }
                }
                b'"' => {
                    scratch.clear();
                    self.read_string_into(&mut scratch, what)?;
                }
                b't' => self.literal(b"true", what)?,
                b'f' => self.literal(b"false", what)?,
                b'n' => self.literal(b"null", what)?,
                b'-' | b'0'..=b'9' => self.skip_number(what)?,
                other => {
                    return Err(self.error(format!(
                        "expected a JSON value but found {} in {what}",
                        show_byte(other)
                    )))
                }
            }
            // A value ended: close containers until one continues.
            loop {
                let Some(&top) = stack.last() else {
                    return Ok(());
                };
                if self.separator(if top == b'{' { b'}' } else { b']' }, what)? {
                    if top == b'{' {
                        scratch.clear();
                        self.read_string_into(&mut scratch, what)?;
                        self.expect(b':', what)?;
                    }
                    break;
                }
                stack.pop();
            }
        }
    }

    fn literal(&mut self, word: &[u8], what: &str) -> LexResult<()> {
        for &expected in word {
            let at = self.offset();
            let b = self.next_byte(what)?;
            if b != expected {
                return Err(ParseError::new(
                    at,
                    format!("invalid literal (found {}) in {what}", show_byte(b)),
                ));
            }
        }
        Ok(())
    }

    /// Skips a JSON number: `-?digits(.digits)?([eE][+-]?digits)?`.
    fn skip_number(&mut self, what: &str) -> LexResult<()> {
        let start = self.offset();
        if self.peek()? == Some(b'-') {
            self.pos += 1;
        }
        let bad = || ParseError::new(start, format!("malformed number in {what}"));
        if self.skip_digits()? == 0 {
            return Err(bad());
        }
        if self.peek()? == Some(b'.') {
            self.pos += 1;
            if self.skip_digits()? == 0 {
                return Err(bad());
            }
        }
        if let Some(b'e' | b'E') = self.peek()? {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek()? {
                self.pos += 1;
            }
            if self.skip_digits()? == 0 {
                return Err(bad());
            }
        }
        Ok(())
    }

    fn skip_digits(&mut self) -> LexResult<u64> {
        let mut n = 0;
        while let Some(b'0'..=b'9') = self.peek()? {
            self.pos += 1;
            n += 1;
        }
        Ok(n)
    }

    /// True when only whitespace is left.
    pub(crate) fn at_end(&mut self) -> LexResult<bool> {
        Ok(self.peek_token()?.is_none())
    }
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut tmp = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out one byte per call, to cross every boundary.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((&b, rest)), Some(slot)) => {
                    *slot = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    fn string_of(json: &str) -> LexResult<String> {
        Lexer::new(Trickle(json.as_bytes()), None).read_string("test")
    }

    #[test]
    fn decodes_escapes_across_chunk_boundaries() {
        assert_eq!(
            string_of(r#""a\"b\\c\/\n\t\r\b\f""#).unwrap(),
            "a\"b\\c/\n\t\r\u{8}\u{c}"
        );
        assert_eq!(string_of(r#""\u00e9\u4e2d""#).unwrap(), "é中");
        assert_eq!(string_of(r#""\ud83d\ude00!""#).unwrap(), "😀!");
        assert_eq!(string_of(r#""x\ud83dy""#).unwrap(), "x\u{FFFD}y");
        assert_eq!(string_of(r#""\ude00\ud83d""#).unwrap(), "\u{FFFD}\u{FFFD}");
        assert_eq!(string_of(r#""\ud83d\n""#).unwrap(), "\u{FFFD}\n");
        assert_eq!(string_of("\"raw é\"").unwrap(), "raw é");
        assert!(string_of(r#""\x""#)
            .unwrap_err()
            .message
            .contains("invalid escape"));
        assert!(string_of(r#""\u12g4""#)
            .unwrap_err()
            .message
            .contains("\\u escape"));
        assert!(string_of("\"a\nb\"")
            .unwrap_err()
            .message
            .contains("control"));
        assert!(string_of("\"abc")
            .unwrap_err()
            .message
            .contains("end of input"));
    }

    #[test]
    fn reads_unsigned_arrays() {
        let mut lx = Lexer::new(Trickle(b" [ 0, 12 ,\n18446744073709551615 ] "), None);
        let mut got = Vec::new();
        let n = lx
            .read_uint_array("arr", |v, at| {
                got.push((v, at));
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 3);
        assert_eq!(got, vec![(0, 3), (12, 6), (u64::MAX, 11)]);
        assert!(lx.at_end().unwrap());
    }

    #[test]
    fn rejects_bad_numbers() {
        for (json, needle) in [
            ("[-1]", "negative"),
            ("[1.5]", "non-integer"),
            ("[1e3]", "non-integer"),
            ("[18446744073709551616]", "too large"),
            ("[01]", "leading zero"),
            ("[\"1\"]", "found a string"),
            ("[1 2]", "expected ','"),
            ("[1,", "end of input"),
        ] {
            let err = Lexer::new(json.as_bytes(), None)
                .read_uint_array("arr", |_, _| Ok(()))
                .unwrap_err();
            assert!(err.message.contains(needle), "{json}: {err}");
        }
    }

    #[test]
    fn skips_any_value() {
        let json = br#"{"a":[1,-2.5e+3,{"b":null}],"c":true,"d":"x\"}","e":[[[]]],"f":{}} 7"#;
        let mut lx = Lexer::new(&json[..], None);
        lx.skip_value("test").unwrap();
        assert_eq!(lx.read_uint("tail").unwrap(), 7);
        for bad in [
            &b"[1,]"[..],
            b"{\"a\" 1}",
            b"[tru]",
            b"[1.]",
            b"[-]",
            b"{",
            b"[}",
        ] {
            assert!(Lexer::new(bad, None).skip_value("t").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let mut json = vec![b'['; 200_000];
        json.extend(vec![b']'; 200_000]);
        Lexer::new(&json[..], None).skip_value("deep").unwrap();
    }

    #[test]
    fn reports_progress() {
        let data = vec![b' '; 3 * CHUNK + 5];
        let mut seen = Vec::new();
        let mut cb = |n: u64| seen.push(n);
        let mut lx = Lexer::new(&data[..], Some(&mut cb));
        assert!(lx.at_end().unwrap());
        drop(lx);
        assert_eq!(seen.last(), Some(&(3 * CHUNK as u64 + 5)));
    }
}
