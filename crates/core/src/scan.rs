//! Streaming: turning a byte stream that may hold noise, partial frames and whole frames into
//! messages, with bounded memory and without ever giving up.
//!
//! Two shapes of decoder share one interface, [`StreamDecoder`]:
//!
//! - protocols with a start marker and a length (Daly, JK, the ASCII-hex envelope) implement
//!   [`Framing::scan`], a pure, total function over a byte slice that reports a [`Scan`], and
//!   [`Protocol::parse`]; [`ScanDecoder`] turns that pair into a [`StreamDecoder`] on a
//!   fixed-capacity [`Accumulator`];
//! - protocols whose frames are best followed byte by byte (VE.Direct text, whose checksum
//!   byte may take any value and whose blocks may be interrupted by HEX frames) implement
//!   [`StreamDecoder`] directly as a state machine.
//!
//! Either way the caller feeds whatever bytes arrived and gets at most one item back per call;
//! noise is never an error, only a count of [`StreamDecoder::dropped_bytes`].

use crate::EncodeError;

/// Result of scanning a buffer for the next frame.
///
/// Invariants every [`Framing::scan`] keeps: `skip + len <= buf.len()`; and when it returns
/// `Incomplete { skip }`, the bytes kept (`buf.len() - skip`) are fewer than
/// [`Framing::MAX_FRAME_LEN`], so a caller's buffer never needs to grow past that.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scan {
    /// Drop `skip` bytes of noise; the next `len` bytes are one complete, checksum-valid frame.
    Frame {
        /// Bytes of noise before the frame.
        skip: usize,
        /// Length of the frame.
        len: usize,
    },
    /// Drop `skip` bytes; keep the rest (a plausible frame prefix) and read more.
    Incomplete {
        /// Bytes of noise that can be dropped.
        skip: usize,
    },
}

/// A protocol whose frames can be found in a buffer by a pure scan.
pub trait Framing {
    /// The longest frame the protocol allows; a candidate that declares more is noise.
    const MAX_FRAME_LEN: usize;

    /// Find the next frame in `buf`. Total: returns for every input without panicking.
    fn scan(buf: &[u8]) -> Scan;
}

/// A [`Framing`] whose frames parse into messages.
pub trait Protocol: Framing {
    /// A decoded message.
    type Message;
    /// Why a checksum-valid frame could not be decoded.
    type Error;

    /// Decode one frame found by [`Framing::scan`].
    ///
    /// # Errors
    /// When the frame's content is not a valid message.
    fn parse(frame: &[u8]) -> Result<Self::Message, Self::Error>;
}

/// A message that can be written to the wire.
pub trait Emit {
    /// Bytes [`Emit::emit`] will write.
    fn buffer_len(&self) -> usize;

    /// Write the message into `out` and return the number of bytes written.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] when `out` is shorter than [`Emit::buffer_len`], or a
    /// value error when a field cannot be carried exactly.
    fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError>;
}

/// An item together with the stream offset of its first byte.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Located<T> {
    /// Offset of the item's first byte, counted from the first byte ever fed.
    pub offset: u64,
    /// The item.
    pub value: T,
}

/// What one call to [`StreamDecoder::feed`] did.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Progress<T> {
    /// Bytes of the input taken (buffered, decoded or dropped). When `item` is `None` this is
    /// the whole input.
    pub consumed: usize,
    /// The item completed by this call, if any.
    pub item: Option<Located<T>>,
}

/// A streaming decoder: feed it bytes as they arrive, get items out.
///
/// Contract: `feed` never panics, takes at least one byte of a non-empty input unless it
/// returns an item, holds a bounded amount of memory whatever the input, and never gives up:
/// noise is dropped and counted, and decoding resumes at the next plausible frame start.
pub trait StreamDecoder {
    /// What the decoder yields, usually `Result<Message, Error>`.
    type Item;

    /// Feed bytes; returns how many were taken and at most one item. After an item, call
    /// again with the rest of the input (possibly empty: more frames may already be
    /// buffered) until a call returns no item.
    fn feed(&mut self, input: &[u8]) -> Progress<Self::Item>;

    /// The input has ended: drop any partial frame (counted in `dropped_bytes`) and return
    /// what the end of input completes (an error for a cut-off frame, a record being
    /// assembled). Call it until it returns `None`.
    fn finish(&mut self) -> Option<Located<Self::Item>>;

    /// Bytes dropped as noise or as parts of invalid frames so far.
    fn dropped_bytes(&self) -> u64;

    /// Feed a whole buffer, calling `f` for each item.
    fn feed_all(&mut self, mut input: &[u8], mut f: impl FnMut(Located<Self::Item>))
    where
        Self: Sized,
    {
        loop {
            let p = self.feed(input);
            input = input.get(p.consumed..).unwrap_or_default();
            match p.item {
                Some(item) => f(item),
                // No item: the decoder has taken everything (or, defensively, made no progress).
                None if input.is_empty() || p.consumed == 0 => break,
                None => {}
            }
        }
    }
}

/// A fixed-capacity byte buffer for streaming decoders: no allocation, no panic.
///
/// Bytes go in with [`Accumulator::extend`] (or [`Accumulator::spare_capacity_mut`] +
/// [`Accumulator::commit`] from a UART interrupt); frames come out with
/// [`Accumulator::next_frame`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone)]
pub struct Accumulator<const N: usize> {
    buf: [u8; N],
    start: usize,
    end: usize,
    pending: usize,
    dropped: u64,
}

impl<const N: usize> Default for Accumulator<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Accumulator<N> {
    /// An empty accumulator.
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            start: 0,
            end: 0,
            pending: 0,
            dropped: 0,
        }
    }

    /// The buffered bytes.
    pub fn data(&self) -> &[u8] {
        self.buf
            .get(self.start.saturating_add(self.pending)..self.end)
            .unwrap_or_default()
    }

    /// Number of buffered bytes (not counting a frame already returned by `next_frame`).
    pub fn len(&self) -> usize {
        self.end
            .saturating_sub(self.start)
            .saturating_sub(self.pending)
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes dropped as noise so far.
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped
    }

    /// Remove `n` bytes from the front (clamped to what is buffered).
    pub fn consume(&mut self, n: usize) {
        self.settle();
        self.start = self.start.saturating_add(n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Remove `n` bytes from the front and count them as dropped.
    pub fn drop_bytes(&mut self, n: usize) {
        self.settle();
        let n = n.min(self.len());
        self.dropped = self.dropped.saturating_add(n as u64);
        self.consume(n);
    }

    /// Move the buffered bytes to the front. In pieces of at most `start` bytes, so that
    /// source and destination never overlap: a `memcpy`, not `copy_within`'s `memmove`
    /// (about 1.5 KiB of Thumb code that nothing else in a firmware image may need).
    fn compact(&mut self) {
        let (start, end) = (self.start, self.end.min(N));
        if start == 0 {
            return;
        }
        let mut to = 0;
        while to + start < end {
            let from = to + start;
            let n = start.min(end - from);
            let (head, tail) = self.buf.split_at_mut(from);
            if let (Some(dst), Some(src)) = (head.get_mut(to..to + n), tail.get(..n)) {
                dst.copy_from_slice(src);
            }
            to += n;
        }
        self.end = end.saturating_sub(start);
        self.start = 0;
    }

    /// Free space at the end, for a driver to write into; follow with [`Self::commit`].
    pub fn spare_capacity_mut(&mut self) -> &mut [u8] {
        self.settle();
        self.compact();
        self.buf.get_mut(self.end..).unwrap_or_default()
    }

    /// Mark `n` bytes written into [`Self::spare_capacity_mut`] as buffered (clamped).
    pub fn commit(&mut self, n: usize) {
        self.end = self.end.saturating_add(n).min(N);
    }

    /// Remove the last `n` buffered bytes (clamped; a frame returned by `next_frame` is
    /// never cut).
    pub fn unextend(&mut self, n: usize) {
        let keep = self.start.saturating_add(self.pending);
        self.end = self.end.saturating_sub(n).max(keep);
    }

    /// Copy as much of `bytes` as fits; returns how many were taken.
    pub fn extend(&mut self, bytes: &[u8]) -> usize {
        let spare = self.spare_capacity_mut();
        let n = bytes.len().min(spare.len());
        if let (Some(dst), Some(src)) = (spare.get_mut(..n), bytes.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.commit(n);
        n
    }

    fn settle(&mut self) {
        let p = core::mem::take(&mut self.pending);
        self.start = self.start.saturating_add(p).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// The next complete frame, if one is buffered; noise before it is dropped. The frame is
    /// removed on the next call to any method that changes the buffer.
    ///
    /// When the buffer is full and holds no frame, the oldest byte is dropped so that the
    /// accumulator can never wedge (only possible with `N < F::MAX_FRAME_LEN`).
    pub fn next_frame<F: Framing>(&mut self) -> Option<&[u8]> {
        self.settle();
        match F::scan(self.data()) {
            Scan::Frame { skip, len } => {
                self.drop_bytes(skip);
                let len = len.min(self.len());
                let frame = self.buf.get(self.start..self.start.saturating_add(len));
                self.pending = len;
                frame
            }
            Scan::Incomplete { skip } => {
                self.drop_bytes(skip);
                if self.len() >= N {
                    self.drop_bytes(1);
                }
                None
            }
        }
    }
}

/// A [`StreamDecoder`] for any [`Protocol`], buffering at most `N` bytes
/// (`N` must be at least [`Framing::MAX_FRAME_LEN`]).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone)]
pub struct ScanDecoder<P, const N: usize> {
    acc: Accumulator<N>,
    /// Noise dropped straight from the caller's input (never copied).
    direct_dropped: u64,
    /// Stream offset of the accumulator's first byte.
    base: u64,
    _protocol: core::marker::PhantomData<fn() -> P>,
}

impl<P, const N: usize> Default for ScanDecoder<P, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P, const N: usize> ScanDecoder<P, N> {
    /// A fresh decoder.
    pub const fn new() -> Self {
        Self {
            acc: Accumulator::new(),
            direct_dropped: 0,
            base: 0,
            _protocol: core::marker::PhantomData,
        }
    }
}

impl<P: Protocol, const N: usize> StreamDecoder for ScanDecoder<P, N> {
    type Item = Result<P::Message, P::Error>;

    fn feed(&mut self, input: &[u8]) -> Progress<Self::Item> {
        let mut consumed = 0;
        // Fast path: with nothing buffered, scan the caller's bytes in place; only a
        // trailing partial frame is copied into the accumulator.
        if self.acc.is_empty() && !input.is_empty() {
            match P::scan(input) {
                Scan::Frame { skip, len } => {
                    if let Some(frame) = input.get(skip..skip.saturating_add(len)) {
                        self.direct_dropped = self.direct_dropped.saturating_add(skip as u64);
                        let offset = self.base.saturating_add(skip as u64);
                        self.base = offset.saturating_add(len as u64);
                        return Progress {
                            consumed: skip + len,
                            item: Some(Located {
                                offset,
                                value: P::parse(frame),
                            }),
                        };
                    }
                }
                Scan::Incomplete { skip } => {
                    let skip = skip.min(input.len());
                    self.direct_dropped = self.direct_dropped.saturating_add(skip as u64);
                    self.base = self.base.saturating_add(skip as u64);
                    consumed = skip;
                }
            }
        }
        // Bytes of this call's input sitting in the accumulator.
        let mut copied = 0usize;
        loop {
            let before = self.acc.len();
            let dropped_before = self.acc.dropped_bytes();
            let frame = self.acc.next_frame::<P>().map(|f| (f.len(), P::parse(f)));
            let dropped = self.acc.dropped_bytes().saturating_sub(dropped_before);
            self.base = self.base.saturating_add(dropped);
            if let Some((len, item)) = frame {
                let offset = self.base;
                self.base = self.base.saturating_add(len as u64);
                // What is left after the frame came from this input: give it back, so the
                // next call scans it in place instead of through the accumulator.
                let left = self.acc.len();
                if left > 0 && left <= copied {
                    self.acc.unextend(left);
                    consumed -= left;
                }
                return Progress {
                    consumed,
                    item: Some(Located {
                        offset,
                        value: item,
                    }),
                };
            }
            let rest = input.get(consumed..).unwrap_or_default();
            if rest.is_empty() {
                return Progress {
                    consumed,
                    item: None,
                };
            }
            let n = self.acc.extend(rest);
            consumed += n;
            copied += n;
            if n == 0 && self.acc.len() == before {
                // Full and nothing could be scanned out: cannot happen when N >= MAX_FRAME_LEN,
                // but never wedge.
                self.acc.drop_bytes(1);
                self.base = self.base.saturating_add(1);
            }
        }
    }

    fn finish(&mut self) -> Option<Located<Self::Item>> {
        let n = self.acc.len();
        self.acc.drop_bytes(n);
        self.base = self.base.saturating_add(n as u64);
        None
    }

    fn dropped_bytes(&self) -> u64 {
        self.acc.dropped_bytes().saturating_add(self.direct_dropped)
    }
}

#[cfg(test)]
#[allow(clippy::std_instead_of_alloc, clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A toy framing for tests: `0xAA len payload[len] sum8`, len <= 4.
    struct Toy;
    impl Framing for Toy {
        const MAX_FRAME_LEN: usize = 7;
        fn scan(buf: &[u8]) -> Scan {
            let mut start = 0;
            loop {
                let rest = buf.get(start..).unwrap_or_default();
                let Some(off) = rest.iter().position(|&b| b == 0xAA) else {
                    return Scan::Incomplete { skip: buf.len() };
                };
                start += off;
                let cand = buf.get(start..).unwrap_or_default();
                let Some(&len) = cand.get(1) else {
                    return Scan::Incomplete { skip: start };
                };
                if len > 4 {
                    start += 1;
                    continue;
                }
                let total = usize::from(len) + 3;
                let Some(frame) = cand.get(..total) else {
                    return Scan::Incomplete { skip: start };
                };
                let (body, sum) = frame.split_at(total - 1);
                if sum == [crate::checksum::sum8(body)] {
                    return Scan::Frame {
                        skip: start,
                        len: total,
                    };
                }
                start += 1;
            }
        }
    }
    impl Protocol for Toy {
        type Message = std::vec::Vec<u8>;
        type Error = ();
        fn parse(frame: &[u8]) -> Result<Self::Message, ()> {
            Ok(frame.get(2..frame.len() - 1).ok_or(())?.to_vec())
        }
    }

    fn toy(payload: &[u8]) -> std::vec::Vec<u8> {
        let mut v = std::vec![0xAA, payload.len() as u8];
        v.extend_from_slice(payload);
        v.push(crate::checksum::sum8(&v));
        v
    }

    #[test]
    fn every_chunk_size_with_garbage() {
        let mut stream = std::vec![1, 2, 3, 0xAA, 9]; // garbage incl. a false marker
        stream.extend(toy(&[1, 2]));
        stream.extend(toy(&[]));
        stream.extend(toy(&[0xAA, 0xAA, 3, 4]));
        stream.extend([0xAA, 2]); // trailing partial
        for chunk in 1..=stream.len() {
            let mut d = ScanDecoder::<Toy, 16>::new();
            let mut got = std::vec::Vec::new();
            for c in stream.chunks(chunk) {
                d.feed_all(c, |l| got.push((l.offset, l.value.unwrap())));
            }
            assert!(d.finish().is_none());
            assert_eq!(
                got,
                std::vec![
                    (5, std::vec![1, 2]),
                    (10, std::vec![]),
                    (13, std::vec![0xAA, 0xAA, 3, 4])
                ],
                "chunk {chunk}"
            );
            assert_eq!(d.dropped_bytes(), 5 + 2, "chunk {chunk}");
        }
    }

    #[test]
    fn accumulator_never_wedges_when_too_small() {
        let mut acc = Accumulator::<2>::new();
        assert_eq!(acc.extend(&[0xAA, 4, 1, 2]), 2);
        assert!(acc.next_frame::<Toy>().is_none());
        assert_eq!(acc.len(), 1);
        assert_eq!(acc.dropped_bytes(), 1);
    }

    proptest! {
        /// The accumulator keeps exactly the bytes a plain queue would, whatever the mix of
        /// appends and removals (the compaction moves them in non-overlapping pieces).
        #[test]
        fn accumulator_is_a_queue(ops in proptest::collection::vec((any::<bool>(), 0usize..24, any::<u8>()), 0..80)) {
            let mut acc = Accumulator::<16>::new();
            let mut model = std::vec::Vec::new();
            let mut next = 0u8;
            for (append, n, seed) in ops {
                if append {
                    let bytes: std::vec::Vec<u8> = (0..n).map(|i| seed.wrapping_add(next).wrapping_add(i as u8)).collect();
                    next = next.wrapping_add(1);
                    let taken = acc.extend(&bytes);
                    prop_assert_eq!(taken, n.min(16 - model.len()));
                    model.extend_from_slice(&bytes[..taken]);
                } else {
                    acc.consume(n);
                    model.drain(..n.min(model.len()));
                }
                prop_assert_eq!(acc.data(), &model[..]);
            }
        }

        #[test]
        fn scan_decoder_total(data in proptest::collection::vec(any::<u8>(), 0..200), chunk in 1usize..20) {
            let mut d = ScanDecoder::<Toy, 8>::new();
            let mut items = 0usize;
            for c in data.chunks(chunk) {
                d.feed_all(c, |_| items += 1);
            }
            d.finish();
            prop_assert!(d.dropped_bytes() <= data.len() as u64);
        }
    }
}
