//! Buffered CSV row writer over any `io::Write`, with RFC 4180 quoting and money formatting

use std::io::{self, Write};

use crate::calendar::push_padded;

const FLUSH_AT: usize = 1 << 16;

/// Collects rows in memory and hands them to the sink in large chunks.
pub(crate) struct CsvOut<'a, W: Write> {
    sink: &'a mut W,
    pub(crate) buf: Vec<u8>,
    pub(crate) rows: u64,
}

impl<'a, W: Write> CsvOut<'a, W> {
    pub(crate) fn new(sink: &'a mut W) -> Self {
        CsvOut {
            sink,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            rows: 0,
        }
    }

    /// Writes the header row (not counted in `rows`).
    pub(crate) fn header(&mut self, columns: &[&str]) -> io::Result<()> {
        self.buf.extend_from_slice(columns.join(",").as_bytes());
        self.buf.push(b'\n');
        self.maybe_flush()
    }

    /// Ends the current row.
    pub(crate) fn end_row(&mut self) -> io::Result<()> {
        self.buf.push(b'\n');
        self.rows += 1;
        self.maybe_flush()
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.sink.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes what is buffered and flushes the sink.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        self.sink.write_all(&self.buf)?;
        self.buf.clear();
        self.sink.flush()
    }
}

/// Appends a text field, quoted when it holds a comma, quote or line break.
pub(crate) fn push_text(buf: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        buf.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(s.as_bytes());
    }
}

/// Appends a signed integer.
pub(crate) fn push_int(buf: &mut Vec<u8>, n: i64) {
    if n < 0 {
        buf.push(b'-');
    }
    push_padded(buf, n.unsigned_abs(), 1);
}

/// Appends minor units (hundredths) as a major-unit amount with exactly two decimals.
pub(crate) fn push_money(buf: &mut Vec<u8>, minor: i64) {
    if minor < 0 {
        buf.push(b'-');
    }
    let v = minor.unsigned_abs();
    push_padded(buf, v / 100, 1);
    buf.push(b'.');
    push_padded(buf, v % 100, 2);
}

/// Appends a prefixed id such as `M000042`.
pub(crate) fn push_id(buf: &mut Vec<u8>, prefix: u8, n: u64, width: usize) {
    buf.push(prefix);
    push_padded(buf, n, width);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        let mut b = Vec::new();
        push_text(&mut b, "plain text");
        b.push(b',');
        push_text(&mut b, r#"{"a":1,"b":"x"}"#);
        assert_eq!(String::from_utf8(b).unwrap(), r#"plain text,"{""a"":1,""b"":""x""}""#);
    }

    #[test]
    fn money_has_two_decimals() {
        let mut b = Vec::new();
        for v in [0, 5, 1250, 8990, -1250, 100_000] {
            push_money(&mut b, v);
            b.push(b' ');
        }
        assert_eq!(String::from_utf8(b).unwrap(), "0.00 0.05 12.50 89.90 -12.50 1000.00 ");
        let mut b = Vec::new();
        push_int(&mut b, -3);
        push_id(&mut b, b'T', 42, 7);
        assert_eq!(b, b"-3T0000042");
    }
}
