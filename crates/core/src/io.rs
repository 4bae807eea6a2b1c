//! `embedded-io` adapters (feature `embedded-io`): drive any [`StreamDecoder`] from a
//! [`Read`] or [`BufRead`], write any [`Emit`] message to a [`Write`]. `no_std`, no
//! allocation, no panic: the caller provides every buffer.
//!
//! ```
//! use voltwire_core::io::{DecodeReader, write_frame};
//! # use voltwire_core::{Located, Progress, StreamDecoder};
//! # #[derive(Default)]
//! # struct Lines { len: usize, offset: u64, start: u64 }
//! # impl StreamDecoder for Lines {
//! #     type Item = usize;
//! #     fn feed(&mut self, input: &[u8]) -> Progress<usize> {
//! #         for (i, b) in input.iter().enumerate() {
//! #             if self.len == 0 { self.start = self.offset; }
//! #             self.offset += 1;
//! #             if *b == b'\n' {
//! #                 let value = core::mem::take(&mut self.len);
//! #                 return Progress { consumed: i + 1, item: Some(Located { offset: self.start, value }) };
//! #             }
//! #             self.len += 1;
//! #         }
//! #         Progress { consumed: input.len(), item: None }
//! #     }
//! #     fn finish(&mut self) -> Option<Located<usize>> { self.len = 0; None }
//! #     fn dropped_bytes(&self) -> u64 { 0 }
//! # }
//! // `Lines` yields the length of each '\n'-terminated line.
//! let serial: &[u8] = b"ab\ncde\n";
//! let mut buf = [0u8; 4];
//! let mut reader = DecodeReader::new(serial, Lines::default(), &mut buf);
//! let mut lens = [0usize; 2];
//! let mut n = 0;
//! while let Some(item) = reader.next_item().unwrap() {
//!     lens[n] = item.value;
//!     n += 1;
//! }
//! assert_eq!(lens, [2, 3]);
//! ```

use embedded_io::{BufRead, Read, Write};

use crate::{Emit, EncodeError, Located, StreamDecoder};

/// The error of [`write_frame`]: the message did not encode, or the writer failed.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError<E> {
    /// The message did not encode into the scratch buffer (nothing was written).
    Encode(EncodeError),
    /// The writer failed (part of the frame may have been written).
    Io(E),
}

impl<E: core::fmt::Debug> core::fmt::Display for WriteError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Encode(e) => write!(f, "encode: {e}"),
            Self::Io(e) => write!(f, "write: {e:?}"),
        }
    }
}

impl<E: core::fmt::Debug> core::error::Error for WriteError<E> {}

/// Encode `message` into `scratch`, then write the frame to `writer` (`write_all`; no flush).
/// Returns the frame length.
///
/// # Errors
/// [`WriteError::Encode`] when the message does not encode into `scratch` (too small, or a
/// value out of range); [`WriteError::Io`] when the writer fails.
pub fn write_frame<W: Write, M: Emit + ?Sized>(
    writer: &mut W,
    message: &M,
    scratch: &mut [u8],
) -> Result<usize, WriteError<W::Error>> {
    let frame = encode(message, scratch)?;
    writer.write_all(frame).map_err(WriteError::Io)?;
    Ok(frame.len())
}

/// Encode into `scratch` and return the frame.
pub(crate) fn encode<'s, M: Emit + ?Sized, E>(
    message: &M,
    scratch: &'s mut [u8],
) -> Result<&'s [u8], WriteError<E>> {
    let n = message.emit(scratch).map_err(WriteError::Encode)?;
    let have = scratch.len();
    scratch
        .get(..n)
        .ok_or(WriteError::Encode(EncodeError::BufferTooSmall {
            needed: n,
            have,
        }))
}

/// What the read loop needs next.
pub(crate) enum Step<T> {
    /// An item for the caller.
    Item(Located<T>),
    /// The buffer is drained: read more bytes into it.
    Read,
}

/// The buffered window `buf[start..end]` not fed yet, and the feed/finish state machine
/// shared by the blocking and the async reader.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Window {
    start: usize,
    end: usize,
    /// The last `feed` returned an item: feed again (even with nothing new) before reading,
    /// as more frames may already be buffered in the decoder.
    drain: bool,
    /// The reader reported end of input: only `finish` is left.
    eof: bool,
}

impl Window {
    /// Feed what is buffered; `Step::Read` when more input is needed. At end of input,
    /// `finish` items and then `None`.
    pub(crate) fn step<D: StreamDecoder>(
        &mut self,
        buf: &[u8],
        decoder: &mut D,
    ) -> Option<Step<D::Item>> {
        loop {
            let pending = buf.get(self.start..self.end).unwrap_or_default();
            if pending.is_empty() && !self.drain {
                if self.eof {
                    return decoder.finish().map(Step::Item);
                }
                return Some(Step::Read);
            }
            let p = decoder.feed(pending);
            self.drain = p.item.is_some();
            if p.item.is_none() || p.consumed >= pending.len() {
                // Without an item the decoder takes the whole input (its contract); never
                // loop on a decoder that makes no progress.
                self.start = self.end;
            } else {
                self.start += p.consumed;
            }
            if let Some(item) = p.item {
                return Some(Step::Item(item));
            }
        }
    }

    /// `n` fresh bytes sit at the front of the buffer (`0`: end of input).
    pub(crate) fn filled(&mut self, n: usize, capacity: usize) {
        self.start = 0;
        self.end = n.min(capacity);
        if n == 0 {
            self.eof = true;
        }
    }

    /// The reader is at end of input (also used for an empty caller buffer, which can
    /// never receive a byte).
    pub(crate) fn set_eof(&mut self) {
        self.eof = true;
    }

    /// The input has ended.
    pub(crate) const fn is_eof(&self) -> bool {
        self.eof
    }
}

/// The feed/finish state machine of the buffered readers (blocking and async), which feed
/// the reader's own buffer instead of one of ours.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Pump {
    /// The last `feed` returned an item: feed again (with nothing new) before filling, as
    /// more frames may already be buffered in the decoder.
    drain: bool,
    /// The reader reported end of input: only `finish` is left.
    eof: bool,
}

impl Pump {
    /// Nothing fed yet.
    pub(crate) const fn new() -> Self {
        Self {
            drain: false,
            eof: false,
        }
    }

    /// Before filling: an item the decoder still holds, `Step::Read` when more input is
    /// needed; at end of input, `finish` items and then `None`.
    pub(crate) fn step<D: StreamDecoder>(&mut self, decoder: &mut D) -> Option<Step<D::Item>> {
        if self.drain {
            let p = decoder.feed(&[]);
            self.drain = p.item.is_some();
            if let Some(item) = p.item {
                return Some(Step::Item(item));
            }
        }
        if self.eof {
            return decoder.finish().map(Step::Item);
        }
        Some(Step::Read)
    }

    /// Feed `input`, what the reader filled (empty: end of input). Returns how many bytes
    /// to consume and the item, if one came.
    pub(crate) fn filled<D: StreamDecoder>(
        &mut self,
        decoder: &mut D,
        input: &[u8],
    ) -> (usize, Option<Located<D::Item>>) {
        if input.is_empty() {
            self.eof = true;
            return (0, None);
        }
        let p = decoder.feed(input);
        self.drain = p.item.is_some();
        // Without an item the decoder takes the whole input (its contract).
        let taken = if self.drain {
            p.consumed.min(input.len())
        } else {
            input.len()
        };
        (taken, p.item)
    }
}

/// Feeds a [`StreamDecoder`] from an [`embedded_io::Read`] through a caller-provided buffer.
///
/// [`DecodeReader::next_item`] reads only when the decoder has nothing left to yield, so one
/// `read` may complete several frames. At end of input (`read` returns `0`) the decoder's
/// [`StreamDecoder::finish`] items follow, then `None`. An empty buffer can never receive a
/// byte and is treated as end of input. It is also an [`Iterator`] of
/// `Result<Located<D::Item>, R::Error>`.
#[derive(Debug)]
pub struct DecodeReader<'b, R, D> {
    reader: R,
    decoder: D,
    buf: &'b mut [u8],
    window: Window,
}

impl<'b, R: Read, D: StreamDecoder> DecodeReader<'b, R, D> {
    /// Read from `reader` into `buf` (any size: it bounds one `read`, not a frame), decode
    /// with `decoder`.
    pub fn new(reader: R, decoder: D, buf: &'b mut [u8]) -> Self {
        let mut window = Window::default();
        if buf.is_empty() {
            window.set_eof();
        }
        Self {
            reader,
            decoder,
            buf,
            window,
        }
    }

    /// The next item, reading as needed; `Ok(None)` once the input has ended and the
    /// decoder is finished.
    ///
    /// # Errors
    /// The reader's error. Nothing is lost: calling again retries the read.
    pub fn next_item(&mut self) -> Result<Option<Located<D::Item>>, R::Error> {
        loop {
            match self.window.step(self.buf, &mut self.decoder) {
                None => return Ok(None),
                Some(Step::Item(item)) => return Ok(Some(item)),
                Some(Step::Read) => {
                    let n = self.reader.read(self.buf)?;
                    self.window.filled(n, self.buf.len());
                }
            }
        }
    }
}

impl<R, D> DecodeReader<'_, R, D> {
    /// The decoder (e.g. for its `dropped_bytes`).
    pub const fn decoder(&self) -> &D {
        &self.decoder
    }

    /// The reader.
    pub const fn reader(&self) -> &R {
        &self.reader
    }

    /// The reader, mutably (e.g. to write a request on a half-duplex port).
    pub const fn reader_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// Whether the reader has reported end of input.
    pub const fn is_eof(&self) -> bool {
        self.window.is_eof()
    }

    /// The reader and the decoder back; bytes read but not fed yet are dropped.
    pub fn into_parts(self) -> (R, D) {
        (self.reader, self.decoder)
    }
}

impl<R: Read, D: StreamDecoder> Iterator for DecodeReader<'_, R, D> {
    type Item = Result<Located<D::Item>, R::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}

/// Feeds a [`StreamDecoder`] straight from an [`embedded_io::BufRead`]'s own buffer (no
/// buffer of ours, no copy).
#[derive(Debug)]
pub struct DecodeBufReader<R, D> {
    reader: R,
    decoder: D,
    pump: Pump,
}

impl<R: BufRead, D: StreamDecoder> DecodeBufReader<R, D> {
    /// Decode what `reader` yields with `decoder`.
    pub const fn new(reader: R, decoder: D) -> Self {
        Self {
            reader,
            decoder,
            pump: Pump::new(),
        }
    }

    /// The next item, filling the reader's buffer as needed; `Ok(None)` once the input has
    /// ended and the decoder is finished.
    ///
    /// # Errors
    /// The reader's error. Nothing is lost: calling again retries.
    pub fn next_item(&mut self) -> Result<Option<Located<D::Item>>, R::Error> {
        loop {
            match self.pump.step(&mut self.decoder) {
                None => return Ok(None),
                Some(Step::Item(item)) => return Ok(Some(item)),
                Some(Step::Read) => {
                    let input = self.reader.fill_buf()?;
                    let (taken, item) = self.pump.filled(&mut self.decoder, input);
                    self.reader.consume(taken);
                    if item.is_some() {
                        return Ok(item);
                    }
                }
            }
        }
    }
}

impl<R, D> DecodeBufReader<R, D> {
    /// The decoder (e.g. for its `dropped_bytes`).
    pub const fn decoder(&self) -> &D {
        &self.decoder
    }

    /// The reader, mutably.
    pub const fn reader_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The reader and the decoder back.
    pub fn into_parts(self) -> (R, D) {
        (self.reader, self.decoder)
    }
}

impl<R: BufRead, D: StreamDecoder> Iterator for DecodeBufReader<R, D> {
    type Item = Result<Located<D::Item>, R::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}

/// A toy decoder and readers shared by the blocking and the async tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::{Located, Progress, StreamDecoder};

    /// Yields `Ok(len)` per '\n'-terminated line and, at end of input, `Err(len)` for a cut-off
    /// line. Buffers at most one line ending: items of several lines in one `feed` input come
    /// one per call, which exercises the drain rule.
    #[derive(Debug, Default)]
    pub(crate) struct Lines {
        len: usize,
        start: u64,
        offset: u64,
    }

    impl StreamDecoder for Lines {
        type Item = Result<usize, usize>;

        fn feed(&mut self, input: &[u8]) -> Progress<Self::Item> {
            for (i, b) in input.iter().enumerate() {
                if self.len == 0 {
                    self.start = self.offset;
                }
                self.offset += 1;
                if *b == b'\n' {
                    let value = Ok(core::mem::take(&mut self.len));
                    return Progress {
                        consumed: i + 1,
                        item: Some(Located {
                            offset: self.start,
                            value,
                        }),
                    };
                }
                self.len += 1;
            }
            Progress {
                consumed: input.len(),
                item: None,
            }
        }

        fn finish(&mut self) -> Option<Located<Self::Item>> {
            let len = core::mem::take(&mut self.len);
            (len > 0).then_some(Located {
                offset: self.start,
                value: Err(len),
            })
        }

        fn dropped_bytes(&self) -> u64 {
            0
        }
    }

    /// A reader that returns at most `chunk` bytes per read.
    #[derive(Debug)]
    pub(crate) struct Chunked<'a> {
        pub(crate) data: &'a [u8],
        pub(crate) chunk: usize,
        pub(crate) reads: usize,
    }

    impl embedded_io::ErrorType for Chunked<'_> {
        type Error = core::convert::Infallible;
    }

    impl embedded_io::Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
            self.reads += 1;
            let n = self.chunk.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// The items every test expects from `INPUT`.
    pub(crate) const INPUT: &[u8] = b"ab\n\ncdef\nxyz";
    pub(crate) const EXPECTED: [(u64, Result<usize, usize>); 4] =
        [(0, Ok(2)), (3, Ok(0)), (4, Ok(4)), (9, Err(3))];
}

#[cfg(test)]
#[allow(clippy::std_instead_of_alloc)]
mod tests {

    use super::testing::{Chunked, EXPECTED, INPUT, Lines};
    use super::*;
    use crate::EncodeError;

    fn collect<
        I: Iterator<Item = Result<Located<Result<usize, usize>>, E>>,
        E: core::fmt::Debug,
    >(
        it: I,
    ) -> std::vec::Vec<(u64, Result<usize, usize>)> {
        it.map(|r| {
            let l = r.unwrap();
            (l.offset, l.value)
        })
        .collect()
    }

    #[test]
    fn reader_any_buffer_and_chunk_size() {
        for buf_len in 1..=INPUT.len() + 2 {
            for chunk in 1..=INPUT.len() + 2 {
                let mut buf = std::vec![0u8; buf_len];
                let reader = Chunked {
                    data: INPUT,
                    chunk,
                    reads: 0,
                };
                let mut r = DecodeReader::new(reader, Lines::default(), &mut buf);
                assert_eq!(collect(&mut r), EXPECTED, "buf {buf_len} chunk {chunk}");
                assert!(r.is_eof());
                // Finished: stays finished.
                assert!(r.next_item().unwrap().is_none());
            }
        }
    }

    #[test]
    fn reader_from_slice_reads_once_for_several_frames() {
        let mut buf = [0u8; 64];
        let reader = Chunked {
            data: INPUT,
            chunk: 64,
            reads: 0,
        };
        let mut r = DecodeReader::new(reader, Lines::default(), &mut buf);
        assert_eq!(collect(&mut r), EXPECTED);
        // One read with data, one returning 0 (end of input).
        assert_eq!(r.reader().reads, 2);

        let mut buf = [0u8; 5];
        let r = DecodeReader::new(INPUT, Lines::default(), &mut buf);
        assert_eq!(collect(r), EXPECTED);
    }

    #[test]
    fn empty_input_and_empty_buffer() {
        let mut buf = [0u8; 8];
        let mut r = DecodeReader::new(&b""[..], Lines::default(), &mut buf);
        assert!(r.next_item().unwrap().is_none());
        let mut r = DecodeReader::new(INPUT, Lines::default(), &mut []);
        assert!(r.next_item().unwrap().is_none());
        assert_eq!(r.into_parts().0, INPUT);
    }

    /// Fails every other read, then behaves: an error loses nothing.
    #[derive(Debug)]
    struct Flaky<'a> {
        inner: Chunked<'a>,
        fail: bool,
    }

    #[derive(Debug, PartialEq)]
    struct Boom;

    impl core::fmt::Display for Boom {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("boom")
        }
    }
    impl core::error::Error for Boom {}
    impl embedded_io::Error for Boom {
        fn kind(&self) -> embedded_io::ErrorKind {
            embedded_io::ErrorKind::Other
        }
    }
    impl embedded_io::ErrorType for Flaky<'_> {
        type Error = Boom;
    }
    impl Read for Flaky<'_> {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, Boom> {
            self.fail = !self.fail;
            if self.fail {
                return Err(Boom);
            }
            Ok(self.inner.read(buf).unwrap())
        }
    }

    #[test]
    fn read_errors_are_retried_without_loss() {
        let mut buf = [0u8; 3];
        let reader = Flaky {
            inner: Chunked {
                data: INPUT,
                chunk: 2,
                reads: 0,
            },
            fail: false,
        };
        let mut r = DecodeReader::new(reader, Lines::default(), &mut buf);
        let mut got = std::vec::Vec::new();
        let mut errors = 0;
        loop {
            match r.next_item() {
                Ok(Some(l)) => got.push((l.offset, l.value)),
                Ok(None) => break,
                Err(Boom) => errors += 1,
            }
        }
        assert_eq!(got, EXPECTED);
        assert!(errors > 0);
    }

    #[test]
    fn buf_reader_from_slice() {
        let r = DecodeBufReader::new(INPUT, Lines::default());
        assert_eq!(collect(r), EXPECTED);
        let mut r = DecodeBufReader::new(&b""[..], Lines::default());
        assert!(r.next_item().unwrap().is_none());
        assert!(r.next_item().unwrap().is_none());
    }

    struct Msg(&'static [u8]);

    impl Emit for Msg {
        fn buffer_len(&self) -> usize {
            self.0.len()
        }

        fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
            let have = out.len();
            let dst = out
                .get_mut(..self.0.len())
                .ok_or(EncodeError::BufferTooSmall {
                    needed: self.0.len(),
                    have,
                })?;
            dst.copy_from_slice(self.0);
            Ok(self.0.len())
        }
    }

    #[test]
    fn write_frame_to_slice() {
        let mut out = [0u8; 8];
        let mut scratch = [0u8; 8];
        let mut w: &mut [u8] = &mut out;
        assert_eq!(write_frame(&mut w, &Msg(b"hello"), &mut scratch), Ok(5));
        assert_eq!(write_frame(&mut w, &Msg(b"ab"), &mut scratch), Ok(2));
        // Scratch too small: nothing written.
        assert_eq!(
            write_frame(&mut w, &Msg(b"0123456789"), &mut scratch),
            Err(WriteError::Encode(EncodeError::BufferTooSmall {
                needed: 10,
                have: 8
            }))
        );
        // Writer full: the writer's error.
        assert!(matches!(
            write_frame(&mut w, &Msg(b"xy"), &mut scratch),
            Err(WriteError::Io(_))
        ));
        assert_eq!(&out[..7], b"helloab");
    }
}
