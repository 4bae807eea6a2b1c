//! A small JSON writer into a fixed buffer: objects, arrays, strings (escaped), booleans,
//! `null` and exact fixed-point numbers from integers (no floats). On overflow the result
//! is `{"truncated":true}`, still valid JSON.

use core::fmt::Write as _;

use heapless::String;

use crate::node::PAYLOAD_LEN;

/// Write `value / 10^decimals` exactly (e.g. `12345, 3` → `12.345`, `-5, 1` → `-0.5`).
///
/// # Errors
/// When `out` is full.
pub fn fixed<W: core::fmt::Write>(out: &mut W, value: i64, decimals: u32) -> core::fmt::Result {
    if decimals == 0 {
        return write!(out, "{value}");
    }
    let scale = 10u64.pow(decimals);
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    let width = usize::try_from(decimals).unwrap_or(0);
    write!(out, "{sign}{}.{:0width$}", abs / scale, abs % scale)
}

/// What [`Json::finish`] returns when the object did not fit.
pub(crate) const TRUNCATED: &str = "{\"truncated\":true}";

#[derive(Debug)]
pub(crate) struct Json {
    out: String<PAYLOAD_LEN>,
    first: bool,
    overflow: bool,
}

impl Json {
    pub(crate) fn object() -> Self {
        let mut j = Self {
            out: String::new(),
            first: true,
            overflow: false,
        };
        j.raw("{");
        j
    }

    fn raw(&mut self, s: &str) {
        if self.out.push_str(s).is_err() {
            self.overflow = true;
        }
    }

    fn sep(&mut self) {
        if !self.first {
            self.raw(",");
        }
        self.first = false;
    }

    fn string(&mut self, s: &str) {
        self.raw("\"");
        for c in s.chars() {
            let r = match c {
                '"' => self.out.push_str("\\\"").map_err(|()| core::fmt::Error),
                '\\' => self.out.push_str("\\\\").map_err(|()| core::fmt::Error),
                c if u32::from(c) < 0x20 => write!(self.out, "\\u{:04x}", u32::from(c)),
                c => self.out.push(c).map_err(|()| core::fmt::Error),
            };
            if r.is_err() {
                self.overflow = true;
            }
        }
        self.raw("\"");
    }

    fn key(&mut self, k: &str) {
        self.sep();
        self.string(k);
        self.raw(":");
    }

    pub(crate) fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        self.string(v);
    }

    /// A string value written through `Display` (escaped like [`Json::str`]).
    pub(crate) fn display(&mut self, k: &str, v: &dyn core::fmt::Display) {
        let mut text: String<PAYLOAD_LEN> = String::new();
        if write!(text, "{v}").is_err() {
            self.overflow = true;
        }
        self.str(k, &text);
    }

    pub(crate) fn bool(&mut self, k: &str, v: bool) {
        self.key(k);
        self.raw(if v { "true" } else { "false" });
    }

    pub(crate) fn opt_bool(&mut self, k: &str, v: Option<bool>) {
        if let Some(b) = v {
            self.bool(k, b);
        } else {
            self.key(k);
            self.raw("null");
        }
    }

    pub(crate) fn uint(&mut self, k: &str, v: u64) {
        self.key(k);
        if write!(self.out, "{v}").is_err() {
            self.overflow = true;
        }
    }

    pub(crate) fn fixed(&mut self, k: &str, v: i64, decimals: u32) {
        self.key(k);
        if fixed(&mut self.out, v, decimals).is_err() {
            self.overflow = true;
        }
    }

    pub(crate) fn opt_fixed(&mut self, k: &str, v: Option<i64>, decimals: u32) {
        if let Some(v) = v {
            self.fixed(k, v, decimals);
        } else {
            self.key(k);
            self.raw("null");
        }
    }

    pub(crate) fn open(&mut self, k: &str) {
        self.key(k);
        self.raw("{");
        self.first = true;
    }

    pub(crate) fn close(&mut self) {
        self.raw("}");
        self.first = false;
    }

    pub(crate) fn open_array(&mut self, k: &str) {
        self.key(k);
        self.raw("[");
        self.first = true;
    }

    pub(crate) fn item_str(&mut self, v: &str) {
        self.sep();
        self.string(v);
    }

    pub(crate) fn close_array(&mut self) {
        self.raw("]");
        self.first = false;
    }

    pub(crate) fn finish(mut self) -> String<PAYLOAD_LEN> {
        self.raw("}");
        if self.overflow {
            let mut s = String::new();
            let _ = s.push_str(TRUNCATED);
            return s;
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test")]
    use super::*;

    #[test]
    fn fixed_point_is_exact() {
        let mut s: String<32> = String::new();
        for (v, d, want) in [
            (12_345, 3, "12.345"),
            (-5, 1, "-0.5"),
            (705, 1, "70.5"),
            (0, 3, "0.000"),
            (-26_400, 3, "-26.400"),
            (7, 0, "7"),
        ] {
            s.clear();
            fixed(&mut s, v, d).unwrap();
            assert_eq!(s.as_str(), want);
        }
    }

    #[test]
    fn objects_nest_and_escape() {
        let mut j = Json::object();
        j.str("a", "x\"y\\\n");
        j.open("o");
        j.bool("t", true);
        j.opt_bool("n", None);
        j.close();
        j.open_array("l");
        j.item_str("p");
        j.item_str("q");
        j.close_array();
        j.uint("u", 3);
        assert_eq!(
            j.finish().as_str(),
            r#"{"a":"x\"y\\\u000a","o":{"t":true,"n":null},"l":["p","q"],"u":3}"#
        );
    }

    #[test]
    fn overflow_is_still_json() {
        let mut j = Json::object();
        let long = "x".repeat(PAYLOAD_LEN);
        j.str("k", &long);
        assert_eq!(j.finish().as_str(), r#"{"truncated":true}"#);
    }
}
