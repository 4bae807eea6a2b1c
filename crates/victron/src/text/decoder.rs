//! The streaming block decoder: a byte-driven state machine with bounded memory.

use voltwire_core::{Located, Progress};

use super::TextError;
use crate::hex;

/// Most fields a block may hold. The protocol allows 22 (v3.30); we accept a margin.
pub const MAX_FIELDS: usize = 32;
/// Longest label accepted (the protocol's labels have at most 8 characters).
pub const MAX_LABEL_LEN: usize = 16;
/// Longest value accepted (the protocol allows 32 characters).
pub const MAX_VALUE_LEN: usize = 64;
/// Most label and value bytes one block may hold in total.
pub const MAX_BLOCK_DATA: usize = 1024;
/// Longest `:`…`\n` HEX line buffered (a valid one is shorter; see `hex::MAX_LINE_LEN`).
pub const MAX_HEX_LINE: usize = 160;

const CHECKSUM_LABEL: &[u8] = b"Checksum";

#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between blocks: waiting for `\r`.
    Idle,
    /// Saw `\r` between blocks: waiting for `\n`.
    IdleCr,
    /// Reading a label (after `\r\n`).
    Label,
    /// Reading a value (after TAB).
    Value,
    /// Saw the `\r` that ends a value: waiting for `\n`.
    ValueCr,
    /// After `Checksum\t`: the next byte is the raw checksum.
    Checksum,
}

#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, Default)]
struct FieldPos {
    start: u16,
    label_len: u8,
    value_len: u8,
}

/// One checksum-verified block, borrowed from the decoder.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy)]
pub struct BlockRef<'a> {
    data: &'a [u8],
    fields: &'a [FieldPos],
    checksum: u8,
    has_pid: bool,
}

impl<'a> BlockRef<'a> {
    /// The fields as `(label, value)` byte strings, in wire order (the `Checksum` field is
    /// not included).
    pub fn fields(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let data = self.data;
        self.fields.iter().map(move |f| {
            let start = usize::from(f.start);
            let mid = start + usize::from(f.label_len);
            let end = mid + usize::from(f.value_len);
            (
                data.get(start..mid).unwrap_or_default(),
                data.get(mid..end).unwrap_or_default(),
            )
        })
    }

    /// Number of fields (without `Checksum`).
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the block has no field but `Checksum`.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The value of the first field labelled `label`.
    pub fn get(&self, label: &[u8]) -> Option<&'a [u8]> {
        self.fields().find(|(l, _)| *l == label).map(|(_, v)| v)
    }

    /// Whether the block holds a `PID` field (what starts a record); the same as
    /// `get(b"PID").is_some()`, noted while the block was read.
    pub(crate) fn has_pid(&self) -> bool {
        self.has_pid
    }

    /// The raw checksum byte (chosen by the sender so that the block sums to 0 mod 256).
    pub fn checksum_byte(&self) -> u8 {
        self.checksum
    }
}

/// What the decoder found.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// A block whose checksum verified.
    Block(BlockRef<'a>),
    /// A HEX frame (`:`…`\n`) found in the stream, outside the text checksum.
    Hex(Result<hex::Frame, hex::HexError>),
    /// A block that failed its checksum or structure; decoding resumes at the next `\r\n`.
    Error(TextError),
}

enum Out {
    None,
    Block,
    Hex,
    Error(TextError, u64),
}

/// The streaming VE.Direct TEXT decoder.
///
/// Feed it bytes as they come; it yields checksum-verified blocks (borrowed, zero-copy),
/// the HEX frames interleaved in the stream, and errors for corrupt blocks. Memory is fixed
/// whatever the input; it never allocates and never panics. After a corrupt block it
/// resynchronises on the next `\r\n`.
///
/// `N` is the room for one block's labels and values (a longer block is
/// [`TextError::BlockTooLong`](super::TextError::BlockTooLong)); the default,
/// [`MAX_BLOCK_DATA`], takes any block the protocol allows. Real blocks are far shorter (the
/// longest in the repository's captures holds 133 bytes, `Checksum` included), so firmware
/// short of RAM may use `Decoder::<256>::sized()`. `size_of` on a 32-bit target (`bench/size.sh`):
/// `Decoder` 1384 bytes, `Decoder<512>` 872, `Decoder<256>` 616.
///
/// HEX frames (`:`…`\n`) may appear between blocks or, with old firmware, inside one: they
/// are cut out and returned on their own, and the text checksum runs over the block's bytes
/// only. The byte after `Checksum\t` is taken raw, so a checksum byte of `:`, `\r` or `\n`
/// is not mistaken for anything else.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone)]
pub struct Decoder<const N: usize = MAX_BLOCK_DATA> {
    /// The current block's labels and values.
    data: [u8; N],
    machine: Machine,
}

/// Everything of [`Decoder`] but its block buffer. The state machine works on the buffer as
/// a slice, so its code is the same for every `N`: compiled once, in this crate, rather than
/// once per size in each user's crate (where it came out measurably slower).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone)]
struct Machine {
    state: State,
    sum: u8,
    len: usize,
    fields: [FieldPos; MAX_FIELDS],
    nfields: usize,
    /// A label of the current block was `PID`.
    has_pid: bool,
    field_start: usize,
    label_len: usize,
    checksum: u8,
    /// Stream offset of the next byte.
    pos: u64,
    /// Stream offset of the current block's leading `\r`.
    block_offset: u64,
    /// TEXT bytes of the current block candidate so far (HEX bytes inside it excluded).
    block_len: u64,
    hex: [u8; MAX_HEX_LINE],
    hex_len: usize,
    in_hex: bool,
    hex_offset: u64,
    dropped: u64,
}

impl<const N: usize> Default for Decoder<N> {
    fn default() -> Self {
        Self::sized()
    }
}

#[inline]
fn printable(b: u8) -> bool {
    (0x20..=0x7E).contains(&b)
}

/// Copy the ordinary bytes (printable, not `:`) of `rest[i..]` to `data[len..limit]`, adding
/// them to `sum`, up to the first other byte or the end of either; how many. `None` when
/// `len..limit` or `i..` is out of range (the caller leaves the byte to the general path).
#[inline]
fn copy_ordinary(
    data: &mut [u8],
    len: usize,
    limit: usize,
    rest: &[u8],
    i: usize,
    sum: &mut u8,
) -> Option<usize> {
    let dst = data.get_mut(len..limit)?;
    let src = rest.get(i..)?;
    let mut n = 0;
    let mut s = *sum;
    for (d, &b) in dst.iter_mut().zip(src) {
        if !printable(b) || b == b':' {
            break;
        }
        *d = b;
        s = s.wrapping_add(b);
        n += 1;
    }
    *sum = s;
    Some(n)
}

impl Decoder {
    /// A decoder waiting for the start of a block, with room for any block
    /// ([`MAX_BLOCK_DATA`]).
    pub const fn new() -> Self {
        Self::sized()
    }
}

impl<const N: usize> Decoder<N> {
    /// A decoder with room for `N` bytes of labels and values per block (at most 65535:
    /// field offsets are 16-bit; a larger `N` does not compile).
    pub const fn sized() -> Self {
        const { assert!(N <= u16::MAX as usize, "field offsets are 16-bit") };
        Self {
            data: [0; N],
            machine: Machine::new(),
        }
    }

    /// Bytes that were not part of a valid block or a valid HEX frame so far.
    pub fn dropped_bytes(&self) -> u64 {
        self.machine.dropped
    }

    /// Stream offset of the next byte to be fed.
    pub fn position(&self) -> u64 {
        self.machine.pos
    }

    /// Feed bytes. Returns how many were taken and at most one event; call again with the
    /// rest of the input. Never panics, never allocates.
    pub fn feed(&mut self, input: &[u8]) -> Progress<Event<'_>> {
        self.machine.feed(&mut self.data, input)
    }

    /// The input has ended. A block or HEX frame cut off by the end is reported as
    /// [`TextError::Truncated`] and its bytes counted as dropped.
    pub fn finish(&mut self) -> Option<Located<Event<'_>>> {
        self.machine.finish()
    }
}

impl Machine {
    const fn new() -> Self {
        Self {
            state: State::Idle,
            sum: 0,
            len: 0,
            fields: [FieldPos {
                start: 0,
                label_len: 0,
                value_len: 0,
            }; MAX_FIELDS],
            nfields: 0,
            has_pid: false,
            field_start: 0,
            label_len: 0,
            checksum: 0,
            pos: 0,
            block_offset: 0,
            block_len: 0,
            hex: [0; MAX_HEX_LINE],
            hex_len: 0,
            in_hex: false,
            hex_offset: 0,
            dropped: 0,
        }
    }

    fn feed<'a>(&'a mut self, data: &'a mut [u8], input: &[u8]) -> Progress<Event<'a>> {
        self.feed_with::<true>(data, input)
    }

    /// [`Self::feed`]; `FAST = false` leaves out the fast path ([`Self::run_fields`]) and
    /// takes every byte through [`Self::step`]: the reference the fast path is tested
    /// against.
    #[inline]
    fn feed_with<'a, const FAST: bool>(
        &'a mut self,
        data: &'a mut [u8],
        input: &[u8],
    ) -> Progress<Event<'a>> {
        let mut consumed = 0;
        let mut out = Out::None;
        let base = self.pos;
        while consumed < input.len() {
            // Fast path: whole fields of ordinary bytes, in local variables.
            if FAST
                && !self.in_hex
                && matches!(self.state, State::Label | State::Value | State::ValueCr)
            {
                consumed += self.run_fields(data, input.get(consumed..).unwrap_or_default());
            }
            let Some(&b) = input.get(consumed) else {
                break;
            };
            self.pos = base.wrapping_add(consumed as u64);
            consumed += 1;
            out = self.step(data, b);
            if !matches!(out, Out::None) {
                break;
            }
        }
        self.pos = base.wrapping_add(consumed as u64);
        let item = match out {
            Out::None => None,
            Out::Block => Some(Located {
                offset: self.block_offset,
                value: Event::Block(BlockRef {
                    data: data.get(..self.len).unwrap_or_default(),
                    fields: self.fields.get(..self.nfields).unwrap_or_default(),
                    checksum: self.checksum,
                    has_pid: self.has_pid,
                }),
            }),
            Out::Hex => {
                let line = self.hex.get(..self.hex_len).unwrap_or_default();
                let parsed = hex::Frame::parse(line);
                if parsed.is_err() {
                    self.dropped = self.dropped.saturating_add(self.hex_len as u64 + 1);
                }
                Some(Located {
                    offset: self.hex_offset,
                    value: Event::Hex(parsed),
                })
            }
            Out::Error(e, offset) => Some(Located {
                offset,
                value: Event::Error(e),
            }),
        };
        Progress { consumed, item }
    }

    fn finish(&mut self) -> Option<Located<Event<'static>>> {
        let in_block = !matches!(self.state, State::Idle | State::IdleCr);
        let offset = if in_block {
            self.block_offset
        } else {
            self.hex_offset
        };
        let started = self.in_hex || in_block;
        let mut lost = if self.in_hex { self.hex_len as u64 } else { 0 };
        if in_block || matches!(self.state, State::IdleCr) {
            lost += self.block_len;
        }
        self.dropped = self.dropped.saturating_add(lost);
        self.reset();
        self.block_len = 0;
        started.then_some(Located {
            offset,
            value: Event::Error(TextError::Truncated),
        })
    }

    fn reset(&mut self) {
        self.state = State::Idle;
        self.in_hex = false;
        self.hex_len = 0;
        self.len = 0;
        self.nfields = 0;
        self.has_pid = false;
    }

    /// Give up on the current block: count its bytes as dropped and report `e`. A `\r` that
    /// caused the failure may start the next block.
    fn abandon(&mut self, e: TextError, b: u8) -> Out {
        let offset = self.block_offset;
        self.reset();
        if b == b'\r' {
            // The CR (already counted in `block_len`) may start the next block.
            self.dropped = self
                .dropped
                .saturating_add(self.block_len.saturating_sub(1));
            self.block_len = 1;
            self.state = State::IdleCr;
            self.block_offset = self.pos;
        } else {
            self.dropped = self.dropped.saturating_add(self.block_len);
            self.block_len = 0;
        }
        Out::Error(e, offset)
    }

    fn start_hex(&mut self) {
        self.in_hex = true;
        self.hex_offset = self.pos;
        self.hex_len = 1;
        if let Some(h) = self.hex.first_mut() {
            *h = b':';
        }
    }

    fn hex_byte(&mut self, data: &mut [u8], b: u8) -> Out {
        match b {
            b'\n' => {
                self.in_hex = false;
                Out::Hex
            }
            b'\r' => Out::None, // tolerated before '\n'
            _ if b.is_ascii_hexdigit() => {
                if let Some(slot) = self.hex.get_mut(self.hex_len) {
                    *slot = b;
                    self.hex_len += 1;
                    Out::None
                } else {
                    self.in_hex = false;
                    self.dropped = self.dropped.saturating_add(self.hex_len as u64 + 1);
                    Out::Error(TextError::HexTooLong, self.hex_offset)
                }
            }
            _ => {
                // Not a HEX frame after all: report it and let the text state machine see
                // this byte.
                self.in_hex = false;
                self.dropped = self.dropped.saturating_add(self.hex_len as u64);
                let offset = self.hex_offset;
                match self.step(data, b) {
                    Out::None => Out::Error(TextError::HexInvalidByte(b), offset),
                    // The byte completed something (e.g. a checksum byte): the HEX error is
                    // less important than that block.
                    other => other,
                }
            }
        }
    }

    fn push_data(&mut self, data: &mut [u8], b: u8) -> bool {
        if let Some(slot) = data.get_mut(self.len) {
            *slot = b;
            self.len += 1;
            true
        } else {
            false
        }
    }

    /// A label (`label_len` bytes at `field_start`) has just ended with its TAB.
    #[inline]
    fn note_label(&mut self, data: &[u8]) {
        if self.label_len == 3 {
            let end = self.field_start + 3;
            self.has_pid |= data.get(self.field_start..end) == Some(b"PID".as_slice());
        }
    }

    /// Inside a block, read the longest prefix of `rest` that the state machine would
    /// only append, sum and move through the ordinary transitions (label TAB, value CR, LF
    /// before the next label), exactly as [`Self::step`] would, but in local variables;
    /// returns how many bytes were taken. Anything else — a `:`, an invalid byte, a limit,
    /// an empty or `Checksum`-long label — is left to `step`.
    ///
    /// One pass of the loop is one field, written as straight-line code (label, TAB, value,
    /// CR, LF) rather than a dispatch on the state per segment: the per-field overhead, not
    /// the per-byte copy, was most of the decoder's time on real blocks (labels and values
    /// of a few bytes).
    #[inline]
    fn run_fields(&mut self, data: &mut [u8], rest: &[u8]) -> usize {
        let fields = &mut self.fields;
        let mut state = self.state;
        let mut len = self.len;
        let mut sum = self.sum;
        let mut field_start = self.field_start;
        let mut label_len = self.label_len;
        let mut nfields = self.nfields;
        let mut has_pid = self.has_pid;
        let mut i = 0;
        loop {
            if state == State::Label {
                let limit = (field_start + MAX_LABEL_LEN).min(data.len());
                let Some(n) = copy_ordinary(data, len, limit, rest, i, &mut sum) else {
                    break;
                };
                len += n;
                i += n;
                if rest.get(i) != Some(&b'\t') {
                    break;
                }
                let n = len - field_start;
                if n == 0 || n == CHECKSUM_LABEL.len() {
                    // Empty (an error) or possibly `Checksum`: the general path.
                    break;
                }
                label_len = n;
                has_pid |= n == 3 && data.get(field_start..len) == Some(b"PID".as_slice());
                sum = sum.wrapping_add(b'\t');
                i += 1;
                state = State::Value;
            }
            if state == State::Value {
                let limit = (field_start + label_len + MAX_VALUE_LEN).min(data.len());
                let Some(n) = copy_ordinary(data, len, limit, rest, i, &mut sum) else {
                    break;
                };
                len += n;
                i += n;
                if rest.get(i) != Some(&b'\r') {
                    break;
                }
                let Some(slot) = fields.get_mut(nfields) else {
                    break;
                };
                #[allow(
                    clippy::cast_possible_truncation,
                    reason = "field_start < N <= u16::MAX (asserted in `sized`), label_len <= \
                              MAX_LABEL_LEN and the value <= MAX_VALUE_LEN (the copy limits)"
                )]
                let pos = FieldPos {
                    start: field_start as u16,
                    label_len: label_len as u8,
                    value_len: (len - field_start - label_len) as u8,
                };
                *slot = pos;
                nfields += 1;
                sum = sum.wrapping_add(b'\r');
                i += 1;
                state = State::ValueCr;
            }
            if state != State::ValueCr || rest.get(i) != Some(&b'\n') {
                break;
            }
            sum = sum.wrapping_add(b'\n');
            i += 1;
            field_start = len;
            state = State::Label;
        }
        self.state = state;
        self.len = len;
        self.sum = sum;
        self.field_start = field_start;
        self.label_len = label_len;
        self.nfields = nfields;
        self.has_pid = has_pid;
        self.block_len += i as u64;
        i
    }

    fn label_byte(&mut self, data: &mut [u8], b: u8) -> Out {
        if b == b'\t' {
            let label = data.get(self.field_start..self.len).unwrap_or_default();
            if label.is_empty() {
                return self.abandon(TextError::EmptyLabel, b);
            }
            self.sum = self.sum.wrapping_add(b);
            if label == CHECKSUM_LABEL {
                self.len = self.field_start;
                self.state = State::Checksum;
            } else {
                self.label_len = self.len - self.field_start;
                self.note_label(data);
                self.state = State::Value;
            }
            Out::None
        } else if b == b':' {
            self.start_hex();
            Out::None
        } else if printable(b) {
            if self.len - self.field_start >= MAX_LABEL_LEN {
                return self.abandon(TextError::FieldTooLong, b);
            }
            if !self.push_data(data, b) {
                return self.abandon(TextError::BlockTooLong, b);
            }
            self.sum = self.sum.wrapping_add(b);
            Out::None
        } else {
            self.abandon(TextError::InvalidByte(b), b)
        }
    }

    fn value_byte(&mut self, data: &mut [u8], b: u8) -> Out {
        if b == b'\r' {
            let Some(slot) = self.fields.get_mut(self.nfields) else {
                return self.abandon(TextError::TooManyFields, b);
            };
            // Bounded by MAX_BLOCK_DATA / MAX_LABEL_LEN / MAX_VALUE_LEN checks.
            *slot = FieldPos {
                start: u16::try_from(self.field_start).unwrap_or(u16::MAX),
                label_len: u8::try_from(self.label_len).unwrap_or(u8::MAX),
                value_len: u8::try_from(self.len - self.field_start - self.label_len)
                    .unwrap_or(u8::MAX),
            };
            self.nfields += 1;
            self.sum = self.sum.wrapping_add(b);
            self.state = State::ValueCr;
            Out::None
        } else if b == b':' {
            self.start_hex();
            Out::None
        } else if printable(b) {
            if self.len - self.field_start - self.label_len >= MAX_VALUE_LEN {
                return self.abandon(TextError::FieldTooLong, b);
            }
            if !self.push_data(data, b) {
                return self.abandon(TextError::BlockTooLong, b);
            }
            self.sum = self.sum.wrapping_add(b);
            Out::None
        } else {
            self.abandon(TextError::InvalidByte(b), b)
        }
    }

    #[inline]
    fn step(&mut self, data: &mut [u8], b: u8) -> Out {
        if self.in_hex {
            return self.hex_byte(data, b);
        }
        if matches!(self.state, State::Checksum)
            || (b != b':' && !matches!(self.state, State::Idle | State::IdleCr))
        {
            self.block_len += 1;
        }
        match self.state {
            State::Idle => {
                if b == b'\r' {
                    self.state = State::IdleCr;
                    self.block_offset = self.pos;
                    self.block_len = 1;
                } else if b == b':' {
                    self.start_hex();
                } else {
                    self.dropped = self.dropped.saturating_add(1);
                }
                Out::None
            }
            State::IdleCr => {
                match b {
                    b'\n' => {
                        self.block_len = 2;
                        self.sum = b'\r'.wrapping_add(b'\n');
                        self.len = 0;
                        self.nfields = 0;
                        self.has_pid = false;
                        self.field_start = 0;
                        self.state = State::Label;
                    }
                    b'\r' => {
                        self.dropped = self.dropped.saturating_add(1);
                        self.block_offset = self.pos;
                    }
                    b':' => {
                        self.dropped = self.dropped.saturating_add(1);
                        self.block_len = 0;
                        self.state = State::Idle;
                        self.start_hex();
                    }
                    _ => {
                        self.dropped = self.dropped.saturating_add(2);
                        self.block_len = 0;
                        self.state = State::Idle;
                    }
                }
                Out::None
            }
            State::Label => self.label_byte(data, b),
            State::Value => self.value_byte(data, b),
            State::ValueCr => {
                if b == b'\n' {
                    self.sum = self.sum.wrapping_add(b);
                    self.field_start = self.len;
                    self.state = State::Label;
                    Out::None
                } else if b == b':' {
                    self.start_hex();
                    Out::None
                } else {
                    self.abandon(TextError::MissingLineFeed, b)
                }
            }
            State::Checksum => {
                self.sum = self.sum.wrapping_add(b);
                self.checksum = b;
                self.state = State::Idle;
                if self.sum == 0 {
                    Out::Block
                } else {
                    self.dropped = self.dropped.saturating_add(self.block_len);
                    self.block_len = 0;
                    Out::Error(TextError::Checksum { sum: self.sum }, self.block_offset)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate alloc;

    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;

    use proptest::prelude::*;

    use super::*;

    /// Everything a decoder reports, as comparable text: each item with its offset and how
    /// many bytes the call took, then `dropped_bytes` and the position.
    fn run<const FAST: bool>(input: &[u8], chunks: &[usize]) -> Vec<String> {
        let mut d = Decoder::<256>::sized();
        let mut out = Vec::new();
        let mut rest = input;
        let mut sizes = chunks.iter().copied().cycle();
        while !rest.is_empty() {
            let n = sizes.next().unwrap_or(1).clamp(1, rest.len());
            let mut chunk = &rest[..n];
            rest = &rest[n..];
            while !chunk.is_empty() {
                let p = d.machine.feed_with::<FAST>(&mut d.data, chunk);
                let item = p.item.map(|l| match l.value {
                    Event::Block(b) => format!(
                        "{} block {:?} {:02X} pid={}",
                        l.offset,
                        b.fields().collect::<Vec<_>>(),
                        b.checksum_byte(),
                        b.has_pid()
                    ),
                    other => format!("{} {other:?}", l.offset),
                });
                out.push(format!("{} {item:?}", p.consumed));
                chunk = &chunk[p.consumed..];
            }
        }
        let end = d.finish().map(|l| format!("{} {:?}", l.offset, l.value));
        out.push(format!(
            "end {end:?} dropped={} pos={}",
            d.dropped_bytes(),
            d.position()
        ));
        out
    }

    /// One field line: a label (sometimes `PID`, `Checksum`, empty or too long) and a value
    /// (sometimes too long), with the usual or a wrong line end.
    fn field() -> impl Strategy<Value = Vec<u8>> {
        let label = prop_oneof![
            "[A-Z0-9#_]{1,8}",
            Just(String::from("PID")),
            Just(String::from("Checksum")),
            Just(String::new()),
            "[A-Z]{15,18}",
        ];
        let value = prop_oneof!["[ -~]{0,12}", "[0-9]{60,70}"];
        let end = prop_oneof![
            8 => Just(&b"\r\n"[..]),
            1 => Just(&b"\r"[..]),
            1 => Just(&b"\n"[..]),
        ];
        (label, value, end).prop_map(|(l, v, e)| {
            let mut line = l.into_bytes();
            line.push(b'\t');
            line.extend_from_slice(v.as_bytes());
            line.extend_from_slice(e);
            line
        })
    }

    /// A block of fields with a correct checksum, then corrupted by a few byte changes
    /// (any byte: `:` starts a HEX frame, control bytes are invalid, …).
    fn stream() -> impl Strategy<Value = Vec<u8>> {
        let block = proptest::collection::vec(field(), 0..24).prop_map(|fields| {
            let mut b = b"\r\n".to_vec();
            for f in fields {
                b.extend_from_slice(&f);
            }
            b.extend_from_slice(b"Checksum\t");
            let sum = b.iter().fold(0u8, |s, &x| s.wrapping_add(x));
            b.push(sum.wrapping_neg());
            b
        });
        let hex = Just(b":7F0ED0071\n".to_vec());
        let noise = proptest::collection::vec(any::<u8>(), 0..8);
        let part = prop_oneof![6 => block, 1 => hex, 1 => noise];
        (
            proptest::collection::vec(part, 1..8),
            proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        )
            .prop_map(|(parts, flips)| {
                let mut s = parts.concat();
                if !s.is_empty() {
                    for (at, b) in flips {
                        let i = at.index(s.len());
                        s[i] = b;
                    }
                }
                s
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// The fast path changes nothing: any stream, any chunking, the same items (with
        /// offsets and the bytes each call took), `dropped_bytes` and position as the
        /// byte-at-a-time state machine.
        #[test]
        fn fast_path_matches_step(s in stream(), chunks in proptest::collection::vec(1usize..300, 1..8)) {
            prop_assert_eq!(run::<true>(&s, &chunks), run::<false>(&s, &chunks));
        }
    }
}
