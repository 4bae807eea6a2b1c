//! One generic `tokio_util::codec` adapter for every [`StreamDecoder`] (feature `tokio-codec`).
//!
//! ```
//! # use voltwire_core::{codec::StreamCodec, ScanDecoder};
//! // Each protocol crate only names the adapter, e.g.
//! // pub type VeDirectCodec = StreamCodec<voltwire_victron::text::Decoder>;
//! ```

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{Emit, StreamDecoder};

/// Adapts a [`StreamDecoder`] to `tokio_util::codec::{Decoder, Encoder}`.
///
/// A frame that fails to decode is an `Item` (`Err` inside `D::Item`), not a codec error: a
/// codec error ends a `FramedRead`, and serial noise must never end a stream. The codec's
/// `Error` is only ever a real I/O error. At end of input a trailing partial frame is dropped
/// (and counted) rather than reported as an error.
#[derive(Debug, Clone, Default)]
pub struct StreamCodec<D> {
    decoder: D,
}

impl<D> StreamCodec<D> {
    /// Wrap a decoder.
    pub const fn new(decoder: D) -> Self {
        Self { decoder }
    }

    /// The wrapped decoder (e.g. for its `dropped_bytes`).
    pub const fn decoder(&self) -> &D {
        &self.decoder
    }
}

impl<D: StreamDecoder> Decoder for StreamCodec<D> {
    type Item = D::Item;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        let p = self.decoder.feed(src);
        src.advance(p.consumed.min(src.len()));
        Ok(p.item.map(|l| l.value))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        if let Some(item) = self.decode(src)? {
            return Ok(Some(item));
        }
        src.clear();
        Ok(self.decoder.finish().map(|l| l.value))
    }
}

impl<D, M: Emit> Encoder<&M> for StreamCodec<D> {
    type Error = std::io::Error;

    fn encode(&mut self, item: &M, dst: &mut BytesMut) -> Result<(), Self::Error> {
        let at = dst.len();
        dst.resize(at + item.buffer_len(), 0);
        let out = dst.get_mut(at..).unwrap_or_default();
        match item.emit(out) {
            Ok(n) => {
                dst.truncate(at + n);
                Ok(())
            }
            Err(e) => {
                dst.truncate(at);
                Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
            }
        }
    }
}
