//! The 13-byte frame, its checked view, the owned [`RawFrame`], and the stream scanner.
//!
//! ```text
//!  0      1         2         3        4 .. 11      12
//! +------+---------+---------+--------+------------+------+
//! | 0xA5 | address | command | 0x08   | data[8]    | sum8 |
//! +------+---------+---------+--------+------------+------+
//!   sum8 = low byte of the sum of bytes 0..=11
//! ```
//!
//! Requests and responses share the layout. The address is the host's in a request (0x40 or
//! 0x80, see [`crate::Variant`]) and the BMS number (0x01 for the first) in a response.
//!
//! Panic contract (as smoltcp's `wire`): once [`Frame::new_checked`] has returned `Ok`, no
//! accessor panics; [`Frame::new_unchecked`] views may be read with the `try_`-free accessors
//! only after [`Frame::check_len`]. [`RawFrame::emit`] never panics: a short buffer is an
//! [`EncodeError::BufferTooSmall`].

use voltwire_core::{Emit, EncodeError, Framing, Located, Progress, Protocol, Scan, StreamDecoder};

use crate::Error;

/// The start flag of every frame.
pub const START: u8 = 0xA5;
/// The value of the length byte: every frame carries 8 data bytes.
pub const DATA_LEN: u8 = 8;
/// Bytes in a frame.
pub const FRAME_LEN: usize = 13;

mod field {
    use core::ops::Range;
    pub(super) const START: usize = 0;
    pub(super) const ADDRESS: usize = 1;
    pub(super) const COMMAND: usize = 2;
    pub(super) const LENGTH: usize = 3;
    pub(super) const DATA: Range<usize> = 4..12;
    pub(super) const CHECKSUM: usize = 12;
}

/// A zero-copy view of a frame in a buffer.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wrap a buffer without any check.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wrap a buffer after checking its length, start flag, length byte and checksum.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::BadStart`], [`Error::BadLength`] or
    /// [`Error::Checksum`].
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let f = Self::new_unchecked(buffer);
        f.check_len()?;
        if f.start() != START {
            return Err(Error::BadStart { found: f.start() });
        }
        if f.length() != DATA_LEN {
            return Err(Error::BadLength { found: f.length() });
        }
        let (expected, actual) = (f.compute_checksum(), f.checksum());
        if expected != actual {
            return Err(Error::Checksum { expected, actual });
        }
        Ok(f)
    }

    /// Check that the buffer holds at least 13 bytes (the rest is ignored).
    ///
    /// # Errors
    /// [`Error::Truncated`] when it is shorter.
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < FRAME_LEN {
            Err(Error::Truncated { len })
        } else {
            Ok(())
        }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

#[allow(
    clippy::indexing_slicing,
    reason = "every accessor is used only after check_len/new_checked established 13 bytes"
)]
impl<T: AsRef<[u8]>> Frame<T> {
    /// Byte 0, the start flag (0xA5 in a valid frame).
    pub fn start(&self) -> u8 {
        self.buffer.as_ref()[field::START]
    }

    /// Byte 1, the address: host address in a request, BMS number in a response.
    pub fn address(&self) -> u8 {
        self.buffer.as_ref()[field::ADDRESS]
    }

    /// Byte 2, the command (data ID).
    pub fn command(&self) -> u8 {
        self.buffer.as_ref()[field::COMMAND]
    }

    /// Byte 3, the data length (8 in a valid frame).
    pub fn length(&self) -> u8 {
        self.buffer.as_ref()[field::LENGTH]
    }

    /// Bytes 4..12, the data.
    pub fn data(&self) -> [u8; 8] {
        let mut d = [0; 8];
        d.copy_from_slice(&self.buffer.as_ref()[field::DATA]);
        d
    }

    /// Byte 12, the checksum as received.
    pub fn checksum(&self) -> u8 {
        self.buffer.as_ref()[field::CHECKSUM]
    }

    /// The checksum bytes 0..12 call for.
    pub fn compute_checksum(&self) -> u8 {
        // Over a fixed-size array: a dozen inlined adds, not a call to the slice loop.
        let head: &[u8; field::CHECKSUM] = self.buffer.as_ref()[..field::CHECKSUM]
            .try_into()
            .unwrap_or(&[0; field::CHECKSUM]);
        head.iter().fold(0, |sum, &b| sum.wrapping_add(b))
    }
}

#[allow(
    clippy::indexing_slicing,
    reason = "every setter is used only after check_len established 13 bytes"
)]
impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Write the start flag, `address`, `command` and the length byte.
    pub fn set_header(&mut self, address: u8, command: u8) {
        let b = self.buffer.as_mut();
        b[field::START] = START;
        b[field::ADDRESS] = address;
        b[field::COMMAND] = command;
        b[field::LENGTH] = DATA_LEN;
    }

    /// Write the 8 data bytes.
    pub fn set_data(&mut self, data: [u8; 8]) {
        self.buffer.as_mut()[field::DATA].copy_from_slice(&data);
    }

    /// Compute and write the checksum.
    pub fn fill_checksum(&mut self) {
        let sum = self.compute_checksum();
        self.buffer.as_mut()[field::CHECKSUM] = sum;
    }
}

/// An owned, checksum-verified frame: address, command and data.
///
/// This is what the stream decoder yields; [`crate::Request::parse`] and
/// [`crate::Response::parse`] give it a meaning.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawFrame {
    /// Host address (request) or BMS number (response).
    pub address: u8,
    /// Command (data ID).
    pub command: u8,
    /// The 8 data bytes.
    pub data: [u8; 8],
}

impl RawFrame {
    /// Read a frame from the first 13 bytes of `bytes`.
    ///
    /// # Errors
    /// As [`Frame::new_checked`].
    #[inline]
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let f = Frame::new_checked(bytes)?;
        Ok(Self::from_frame(&f))
    }

    /// The owned copy of a checked view.
    pub fn from_frame<T: AsRef<[u8]>>(f: &Frame<T>) -> Self {
        Self {
            address: f.address(),
            command: f.command(),
            data: f.data(),
        }
    }

    /// Whether the frame is from a host (address ≥ 0x20) rather than from a BMS.
    ///
    /// BMS numbers start at 0x01 (several boards on one bus answer 0x01, 0x02, …); host
    /// addresses are 0x20, 0x40 (+ board − 1) or 0x80 in both document versions. Use it to
    /// split a capture of both directions; a controller knows the direction anyway.
    pub const fn is_request(&self) -> bool {
        self.address >= 0x20
    }

    /// The 13 wire bytes.
    pub fn to_bytes(&self) -> [u8; FRAME_LEN] {
        let mut out = [0; FRAME_LEN];
        let mut f = Frame::new_unchecked(&mut out[..]);
        f.set_header(self.address, self.command);
        f.set_data(self.data);
        f.fill_checksum();
        out
    }

    /// Write the 13 wire bytes into `out`; returns 13.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] when `out` is shorter than 13 bytes.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let have = out.len();
        let dst = out
            .get_mut(..FRAME_LEN)
            .ok_or(EncodeError::BufferTooSmall {
                needed: FRAME_LEN,
                have,
            })?;
        dst.copy_from_slice(&self.to_bytes());
        Ok(FRAME_LEN)
    }
}

impl Emit for RawFrame {
    fn buffer_len(&self) -> usize {
        FRAME_LEN
    }

    fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        Self::emit(self, out)
    }
}

/// Whether a 0xA5 at position `i` of `cand` could start a real frame, judged only from
/// `cand` (so the answer does not depend on how the stream was chunked).
fn inner_start_plausible(cand: &[u8], i: usize) -> bool {
    cand.get(i) == Some(&START)
        && cand
            .get(i + field::LENGTH)
            .is_none_or(|&len| len == DATA_LEN)
}

/// The Daly framing for [`voltwire_core::ScanDecoder`].
///
/// `scan` finds the next 0xA5 whose frame has length byte 8 and a valid checksum. A candidate
/// that fails is retried from its next byte, except one case: a candidate with a good header
/// (A5, length 8) and a bad checksum, inside whose 13 bytes no other plausible start exists,
/// is handed out as a frame so that [`Daly::parse`] reports it as [`Error::Checksum`] — a
/// corrupted frame, not noise. No real frame is lost that way, and the decision reads only
/// the candidate's 13 bytes, so it is the same for every chunking of the stream.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, Default)]
pub struct Daly;

/// What [`scan_checked`] found at the front of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Checked {
    /// After `skip` bytes of noise, 13 bytes that are this item: a frame, or (a good header
    /// with a bad checksum) its checksum error.
    Frame {
        skip: usize,
        value: Result<RawFrame, Error>,
    },
    /// Drop `skip` bytes; the rest (fewer than 13 bytes) may start a frame.
    Incomplete { skip: usize },
}

/// A frame's data bytes and its address and command, as two words, out of line on purpose:
/// built from single bytes, the owned frame's address and command were stored one by one
/// and the caller's move of the frame reloaded them as one word, a store-forwarding stall
/// that took a third of the stream decoder's time (x86, `bench/benches/daly.rs`). Returned
/// as words in registers, they are stored as words.
#[inline(never)]
fn words(frame: &[u8; FRAME_LEN]) -> (u64, u16) {
    let [_, address, command, _, d0, d1, d2, d3, d4, d5, d6, d7, _] = *frame;
    (
        u64::from_le_bytes([d0, d1, d2, d3, d4, d5, d6, d7]),
        u16::from_le_bytes([address, command]),
    )
}

/// The 12 summed bytes and the checksum byte of a frame.
fn split_checksum(frame: &[u8; FRAME_LEN]) -> (&[u8; FRAME_LEN - 1], &[u8; 1]) {
    let (head, sum) = frame.split_at(FRAME_LEN - 1);
    (
        head.try_into().unwrap_or(&[0; FRAME_LEN - 1]),
        sum.try_into().unwrap_or(&[0]),
    )
}

/// The scanner behind [`Daly`]'s [`Framing::scan`] and [`Decoder`]: it checks each candidate
/// once and hands the result on, so a frame is never validated twice.
#[inline]
fn scan_checked(buf: &[u8]) -> Checked {
    let mut start = 0;
    loop {
        let rest = buf.get(start..).unwrap_or_default();
        let Some(off) = rest.iter().position(|&b| b == START) else {
            return Checked::Incomplete { skip: buf.len() };
        };
        start += off;
        let cand = buf.get(start..).unwrap_or_default();
        // One length check, then every byte from a fixed-size array: no further bounds
        // checks, and the loads of the owned frame merge into word moves.
        let Some(frame) = cand.first_chunk::<FRAME_LEN>() else {
            // A prefix: keep it unless its length byte already rules it out.
            if cand.get(field::LENGTH).is_some_and(|&l| l != DATA_LEN) {
                start += 1;
                continue;
            }
            return Checked::Incomplete { skip: start };
        };
        let (head, [actual]) = split_checksum(frame);
        if head.get(field::LENGTH) != Some(&DATA_LEN) {
            start += 1;
            continue;
        }
        let expected = head.iter().fold(0u8, |sum, &b| sum.wrapping_add(b));
        if expected == *actual {
            let (data, pair) = words(frame);
            let [address, command] = pair.to_le_bytes();
            return Checked::Frame {
                skip: start,
                value: Ok(RawFrame {
                    address,
                    command,
                    data: data.to_le_bytes(),
                }),
            };
        }
        let actual = *actual;
        if !(1..FRAME_LEN).any(|i| inner_start_plausible(frame, i)) {
            return Checked::Frame {
                skip: start,
                value: Err(Error::Checksum { expected, actual }),
            };
        }
        start += 1;
    }
}

impl Framing for Daly {
    const MAX_FRAME_LEN: usize = FRAME_LEN;

    fn scan(buf: &[u8]) -> Scan {
        match scan_checked(buf) {
            Checked::Frame { skip, .. } => Scan::Frame {
                skip,
                len: FRAME_LEN,
            },
            Checked::Incomplete { skip } => Scan::Incomplete { skip },
        }
    }
}

impl Protocol for Daly {
    type Message = RawFrame;
    type Error = Error;

    #[inline]
    fn parse(frame: &[u8]) -> Result<RawFrame, Error> {
        RawFrame::parse(frame)
    }
}

/// Bytes [`Decoder`] holds between calls: a frame prefix (at most 12 bytes) topped up with
/// the next input, enough to judge any candidate that starts in the prefix.
const PENDING: usize = 2 * FRAME_LEN;

/// A resynchronising stream decoder yielding checksum-verified [`RawFrame`]s (a 26-byte
/// buffer, no allocation).
///
/// It yields exactly what `voltwire_core::ScanDecoder<Daly, 32>` yields — the same items at
/// the same offsets, the same dropped-byte count, in any chunking (a differential property
/// test pins this) — but faster: frames are found in the caller's bytes in place and checked
/// once (the scan hands the checked frame on instead of parsing it again), and
/// [`StreamDecoder::feed_all`] walks a whole input without a call per item. Only a frame
/// split across two inputs is copied.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone)]
pub struct Decoder {
    /// The held bytes: `pending[..len]`, always a possible frame start when not empty.
    pending: [u8; PENDING],
    len: usize,
    /// Stream offset of `pending[0]` (of the next input byte when nothing is held).
    base: u64,
    dropped: u64,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A fresh decoder.
    pub const fn new() -> Self {
        Self {
            pending: [0; PENDING],
            len: 0,
            base: 0,
            dropped: 0,
        }
    }

    fn skip(&mut self, n: usize) {
        self.dropped = self.dropped.saturating_add(n as u64);
        self.base = self.base.saturating_add(n as u64);
    }

    /// A frame at `skip` of the bytes starting at `base`: its located item.
    fn item(
        &mut self,
        skip: usize,
        value: Result<RawFrame, Error>,
    ) -> Located<Result<RawFrame, Error>> {
        self.skip(skip);
        let offset = self.base;
        self.base = self.base.saturating_add(FRAME_LEN as u64);
        Located { offset, value }
    }

    /// Hold `rest` (a possible frame start, fewer than 13 bytes).
    fn hold(&mut self, rest: &[u8]) {
        let n = rest.len().min(PENDING);
        if let (Some(dst), Some(src)) = (self.pending.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.len = n;
    }

    /// With bytes held: top them up from `input` and scan. Returns the input taken and the
    /// item found, if any.
    fn feed_held(&mut self, input: &[u8]) -> (usize, Option<Located<Result<RawFrame, Error>>>) {
        let mut consumed = 0;
        while self.len > 0 {
            let held = self.len;
            let take = (PENDING - held).min(input.len() - consumed);
            if let (Some(dst), Some(src)) = (
                self.pending.get_mut(held..held + take),
                input.get(consumed..consumed + take),
            ) {
                dst.copy_from_slice(src);
            }
            let filled = held + take;
            match scan_checked(self.pending.get(..filled).unwrap_or_default()) {
                Checked::Frame { skip, value } => {
                    // The frame ends past the held bytes (they are a frame start shorter than
                    // a frame), so it takes `skip + 13 - held` bytes of this input.
                    self.len = 0;
                    let taken = (skip + FRAME_LEN).saturating_sub(held);
                    return (consumed + taken, Some(self.item(skip, value)));
                }
                Checked::Incomplete { skip } => {
                    consumed += take;
                    self.skip(skip);
                    self.pending.copy_within(skip.min(filled)..filled, 0);
                    self.len = filled.saturating_sub(skip);
                    if consumed == input.len() {
                        break;
                    }
                }
            }
        }
        (consumed, None)
    }
}

impl StreamDecoder for Decoder {
    type Item = Result<RawFrame, Error>;

    fn feed(&mut self, input: &[u8]) -> Progress<Self::Item> {
        if self.len > 0 {
            let (consumed, item) = self.feed_held(input);
            if item.is_some() || consumed == input.len() {
                return Progress { consumed, item };
            }
            // Everything held was noise; the rest of the input is scanned in place.
            let rest = input.get(consumed..).unwrap_or_default();
            let p = self.feed(rest);
            return Progress {
                consumed: consumed + p.consumed,
                item: p.item,
            };
        }
        match scan_checked(input) {
            Checked::Frame { skip, value } => Progress {
                consumed: skip + FRAME_LEN,
                item: Some(self.item(skip, value)),
            },
            Checked::Incomplete { skip } => {
                self.skip(skip);
                self.hold(input.get(skip..).unwrap_or_default());
                Progress {
                    consumed: input.len(),
                    item: None,
                }
            }
        }
    }

    fn feed_all(&mut self, mut input: &[u8], mut f: impl FnMut(Located<Self::Item>)) {
        if self.len > 0 {
            let (consumed, item) = self.feed_held(input);
            input = input.get(consumed..).unwrap_or_default();
            if let Some(item) = item {
                f(item);
            }
            if self.len > 0 {
                return;
            }
        }
        loop {
            match scan_checked(input) {
                Checked::Frame { skip, value } => {
                    f(self.item(skip, value));
                    input = input.get(skip + FRAME_LEN..).unwrap_or_default();
                }
                Checked::Incomplete { skip } => {
                    self.skip(skip);
                    self.hold(input.get(skip..).unwrap_or_default());
                    return;
                }
            }
        }
    }

    fn finish(&mut self) -> Option<Located<Self::Item>> {
        let n = self.len;
        self.len = 0;
        self.skip(n);
        None
    }

    fn dropped_bytes(&self) -> u64 {
        self.dropped
    }
}

/// A `tokio_util::codec` decoder/encoder of [`RawFrame`]s (feature `tokio-codec`).
#[cfg(feature = "tokio-codec")]
pub type DalyCodec = voltwire_core::codec::StreamCodec<Decoder>;

#[cfg(test)]
#[allow(
    clippy::std_instead_of_alloc,
    clippy::many_single_char_names,
    clippy::trivially_copy_pass_by_ref,
    reason = "test code"
)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use voltwire_core::ScanDecoder;

    /// MAL README: pack status response, 57.0 V, 0 A, 49.3 %.
    const RESPONSE: [u8; 13] = [
        0xA5, // start
        0x01, // BMS 1
        0x90, // pack status
        0x08, // length
        0x02, 0x3A, // 570 × 0.1 V
        0x00, 0x00, // acquisition voltage
        0x75, 0x30, // 30000 = 0 A
        0x01, 0xED, // 493 × 0.1 %
        0x0D, // sum8
    ];

    #[test]
    fn deconstruct() {
        let f = Frame::new_checked(&RESPONSE[..]).unwrap();
        assert_eq!(f.address(), 0x01);
        assert_eq!(f.command(), 0x90);
        assert_eq!(f.data(), [0x02, 0x3A, 0, 0, 0x75, 0x30, 0x01, 0xED]);
        assert_eq!(f.checksum(), 0x0D);
    }

    #[test]
    fn construct() {
        // The worked example: request 0x90 from host 0x40.
        let r = RawFrame {
            address: 0x40,
            command: 0x90,
            data: [0; 8],
        };
        assert_eq!(
            r.to_bytes(),
            [0xA5, 0x40, 0x90, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x7D]
        );
        let mut short = [0; 12];
        assert_eq!(
            r.emit(&mut short),
            Err(EncodeError::BufferTooSmall {
                needed: 13,
                have: 12
            })
        );
        assert_eq!(RawFrame::parse(&RESPONSE).unwrap().to_bytes(), RESPONSE);
    }

    #[test]
    fn rejects() {
        let mut bad = RESPONSE;
        bad[12] ^= 1;
        assert_eq!(
            RawFrame::parse(&bad),
            Err(Error::Checksum {
                expected: 0x0D,
                actual: 0x0C
            })
        );
        assert_eq!(
            RawFrame::parse(&RESPONSE[..12]),
            Err(Error::Truncated { len: 12 })
        );
        let mut len = RESPONSE;
        len[3] = 7;
        assert_eq!(RawFrame::parse(&len), Err(Error::BadLength { found: 7 }));
    }

    #[test]
    fn corrupt_frame_is_an_error_item_and_false_markers_are_noise() {
        let mut bad = RESPONSE;
        bad[6] ^= 0x10;
        let mut stream = std::vec![0xA5, 0x00, 0xA5, 0x01, 0x90]; // false markers, noise
        stream.extend_from_slice(&bad);
        stream.extend_from_slice(&RESPONSE);
        stream.extend_from_slice(&[0xA5, 0x01]); // trailing partial
        for chunk in 1..=stream.len() {
            let mut d = Decoder::new();
            let mut got = std::vec::Vec::new();
            for c in stream.chunks(chunk) {
                d.feed_all(c, |l| got.push((l.offset, l.value)));
            }
            assert!(d.finish().is_none());
            assert_eq!(got.len(), 2, "chunk {chunk}");
            assert_eq!(got[0].0, 5);
            assert_eq!(got[0].1.unwrap_err().code(), "checksum");
            assert_eq!(got[1], (18, Ok(RawFrame::parse(&RESPONSE).unwrap())));
            assert_eq!(d.dropped_bytes(), 5 + 2);
        }
    }

    #[test]
    fn real_frame_inside_corrupt_candidate_is_found() {
        // A header whose body is cut short by a real frame.
        let mut stream = std::vec![0xA5, 0x40, 0x90, 0x08, 0x00];
        stream.extend_from_slice(&RESPONSE);
        let mut d = Decoder::new();
        let mut got = std::vec::Vec::new();
        d.feed_all(&stream, |l| got.push((l.offset, l.value)));
        assert_eq!(got, std::vec![(5, Ok(RawFrame::parse(&RESPONSE).unwrap()))]);
    }

    /// One piece of a test stream: a valid frame, a frame with one byte changed, a frame cut
    /// short, or noise rich in start flags and length bytes.
    fn piece() -> impl Strategy<Value = std::vec::Vec<u8>> {
        let frame = (any::<u8>(), any::<u8>(), any::<[u8; 8]>()).prop_map(|(a, c, d)| {
            RawFrame {
                address: a,
                command: c,
                data: d,
            }
            .to_bytes()
            .to_vec()
        });
        prop_oneof![
            4 => frame.clone(),
            1 => (frame.clone(), 0..FRAME_LEN, 1..=255u8).prop_map(|(mut f, i, x)| {
                f[i] ^= x;
                f
            }),
            1 => (frame, 1..FRAME_LEN).prop_map(|(f, n)| f[..n].to_vec()),
            2 => proptest::collection::vec(
                prop_oneof![Just(START), Just(DATA_LEN), any::<u8>()],
                0..20
            ),
        ]
    }

    type Items = std::vec::Vec<(u64, Result<RawFrame, Error>)>;

    /// Items and dropped bytes of `d` fed `stream` in chunks of the given sizes (cycled),
    /// through `feed_all` or one `feed` call at a time.
    fn run<D: StreamDecoder<Item = Result<RawFrame, Error>>>(
        mut d: D,
        stream: &[u8],
        sizes: &[usize],
        by_feed: bool,
    ) -> (Items, u64) {
        let mut items = std::vec::Vec::new();
        let mut at = 0;
        for &n in sizes.iter().cycle() {
            if at >= stream.len() {
                break;
            }
            let end = (at + n).min(stream.len());
            let mut chunk = &stream[at..end];
            at = end;
            if by_feed {
                loop {
                    let p = d.feed(chunk);
                    chunk = &chunk[p.consumed..];
                    match p.item {
                        Some(l) => items.push((l.offset, l.value)),
                        None => break,
                    }
                }
                assert!(chunk.is_empty());
            } else {
                d.feed_all(chunk, |l| items.push((l.offset, l.value)));
            }
        }
        assert!(d.finish().is_none());
        (items, d.dropped_bytes())
    }

    proptest! {
        /// The in-place decoder is the generic one, only faster: the same items at the same
        /// offsets and the same dropped bytes, in any chunking, by `feed` or `feed_all`.
        #[test]
        fn decoder_matches_the_generic_scan_decoder(
            pieces in proptest::collection::vec(piece(), 0..40),
            sizes in proptest::collection::vec(1..40usize, 1..8),
        ) {
            let stream: std::vec::Vec<u8> = pieces.concat();
            let reference = run(ScanDecoder::<Daly, 32>::new(), &stream, &sizes, false);
            let whole = run(ScanDecoder::<Daly, 32>::new(), &stream, &[stream.len().max(1)], false);
            prop_assert_eq!(&reference, &whole);
            prop_assert_eq!(&run(Decoder::new(), &stream, &sizes, false), &reference);
            prop_assert_eq!(&run(Decoder::new(), &stream, &sizes, true), &reference);
            // Every byte is a frame's or dropped.
            prop_assert_eq!(reference.0.len() as u64 * 13 + reference.1, stream.len() as u64);
        }
    }
}
