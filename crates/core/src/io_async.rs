//! `embedded-io-async` adapters (feature `embedded-io-async`): the async twins of
//! [`crate::io`], for Embassy-style firmware. `no_std`, no allocation, no panic.

use embedded_io_async::{BufRead, Read, Write};

use crate::io::{Pump, Step, Window, WriteError, encode};
use crate::{Emit, Located, StreamDecoder};

/// Encode `message` into `scratch`, then write the frame to `writer` (`write_all`; no flush).
/// Returns the frame length.
///
/// # Errors
/// [`WriteError::Encode`] when the message does not encode into `scratch`;
/// [`WriteError::Io`] when the writer fails.
pub async fn write_frame<W: Write, M: Emit + ?Sized>(
    writer: &mut W,
    message: &M,
    scratch: &mut [u8],
) -> Result<usize, WriteError<W::Error>> {
    let frame = encode(message, scratch)?;
    writer.write_all(frame).await.map_err(WriteError::Io)?;
    Ok(frame.len())
}

/// Feeds a [`StreamDecoder`] from an [`embedded_io_async::Read`] through a caller-provided
/// buffer; the async [`crate::io::DecodeReader`] (same rules).
#[derive(Debug)]
pub struct DecodeReader<'b, R, D> {
    reader: R,
    decoder: D,
    buf: &'b mut [u8],
    window: Window,
}

impl<'b, R: Read, D: StreamDecoder> DecodeReader<'b, R, D> {
    /// Read from `reader` into `buf` (any size), decode with `decoder`.
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
    /// decoder is finished. Cancel-safe: dropping the future loses no decoded item (a read
    /// cancelled mid-way loses only what that read had not returned).
    ///
    /// # Errors
    /// The reader's error. Nothing is lost: calling again retries the read.
    pub async fn next_item(&mut self) -> Result<Option<Located<D::Item>>, R::Error> {
        loop {
            match self.window.step(self.buf, &mut self.decoder) {
                None => return Ok(None),
                Some(Step::Item(item)) => return Ok(Some(item)),
                Some(Step::Read) => {
                    let n = self.reader.read(self.buf).await?;
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

    /// The reader, mutably.
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

/// Feeds a [`StreamDecoder`] straight from an [`embedded_io_async::BufRead`]'s own buffer;
/// the async [`crate::io::DecodeBufReader`].
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
    pub async fn next_item(&mut self) -> Result<Option<Located<D::Item>>, R::Error> {
        loop {
            match self.pump.step(&mut self.decoder) {
                None => return Ok(None),
                Some(Step::Item(item)) => return Ok(Some(item)),
                Some(Step::Read) => {
                    let input = self.reader.fill_buf().await?;
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

#[cfg(test)]
#[allow(clippy::std_instead_of_alloc)]
mod tests {
    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context, Poll, Waker};

    use super::*;
    use crate::io::testing::{Chunked, EXPECTED, INPUT, Lines};

    /// The readers here never pend: poll to completion.
    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    impl embedded_io_async::Read for Chunked<'_> {
        async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
            embedded_io::Read::read(self, buf)
        }
    }

    #[test]
    fn async_reader_any_buffer_and_chunk_size() {
        for buf_len in 1..=INPUT.len() + 2 {
            for chunk in 1..=INPUT.len() + 2 {
                let mut buf = std::vec![0u8; buf_len];
                let reader = Chunked {
                    data: INPUT,
                    chunk,
                    reads: 0,
                };
                let mut r = DecodeReader::new(reader, Lines::default(), &mut buf);
                let mut got = std::vec::Vec::new();
                while let Some(l) = block_on(r.next_item()).unwrap() {
                    got.push((l.offset, l.value));
                }
                assert_eq!(got, EXPECTED, "buf {buf_len} chunk {chunk}");
                assert!(r.is_eof());
            }
        }
    }

    #[test]
    fn async_buf_reader_and_write() {
        let mut r = DecodeBufReader::new(INPUT, Lines::default());
        let mut got = std::vec::Vec::new();
        while let Some(l) = block_on(r.next_item()).unwrap() {
            got.push((l.offset, l.value));
        }
        assert_eq!(got, EXPECTED);

        let mut out = [0u8; 4];
        let mut scratch = [0u8; 4];
        let mut w: &mut [u8] = &mut out;
        assert_eq!(
            block_on(write_frame(&mut w, &Raw(b"abc"), &mut scratch)),
            Ok(3)
        );
        assert!(matches!(
            block_on(write_frame(&mut w, &Raw(b"de"), &mut scratch)),
            Err(WriteError::Io(_))
        ));
        assert_eq!(&out[..3], b"abc");
    }

    struct Raw(&'static [u8]);

    impl Emit for Raw {
        fn buffer_len(&self) -> usize {
            self.0.len()
        }

        fn emit(&self, out: &mut [u8]) -> Result<usize, crate::EncodeError> {
            out[..self.0.len()].copy_from_slice(self.0);
            Ok(self.0.len())
        }
    }
}
