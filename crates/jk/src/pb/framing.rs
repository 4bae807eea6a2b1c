//! Frame classification, [`check`] and the stream framing ([`PbFraming`]).

use voltwire_core::checksum::{crc16_modbus, sum8};
use voltwire_core::{Framing, Protocol, Scan};

use super::{BLOCK_LEN, BLOCK_START, Error, FC_READ, FC_WRITE, MAX_FRAME_LEN, Message};

#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Block,
    WriteRequest,
    WriteAck,
    ReadRequest,
    ReadResponse,
    Exception,
}

fn crc_ok(buf: &[u8], len: usize) -> Option<bool> {
    let frame = buf.get(..len)?;
    let (body, crc) = frame.split_at_checked(len.checked_sub(2)?)?;
    Some(crc == crc16_modbus(body).to_le_bytes())
}

fn truncated(needed: usize, buf: &[u8]) -> Error {
    Error::Truncated {
        needed,
        have: buf.len(),
    }
}

pub(super) fn classify(buf: &[u8]) -> Result<(usize, Kind), Error> {
    classify_preferring(buf, None)
}

/// [`classify`], but when one Modbus reading is exactly `fits` bytes long and its CRC
/// verifies, that reading wins over a shorter one. Modbus RTU carries no length, so a few
/// byte strings are two valid frames (an 8-byte read request whose first 7 bytes also make
/// a read response with a matching CRC); where the caller knows where the frame ends (a
/// whole frame given to `parse`, the last frame of a capture) that settles it.
pub(super) fn classify_preferring(buf: &[u8], fits: Option<usize>) -> Result<(usize, Kind), Error> {
    // A block (or a prefix of one at the end of the buffer).
    let prefix = buf.len().min(BLOCK_START.len());
    if prefix > 0 && buf.get(..prefix) == BLOCK_START.get(..prefix) {
        let block = buf.get(..BLOCK_LEN).ok_or(truncated(BLOCK_LEN, buf))?;
        let (found, body) = block.split_last().ok_or(Error::NotAFrame)?;
        let computed = sum8(body);
        return if computed == *found {
            Ok((BLOCK_LEN, Kind::Block))
        } else {
            Err(Error::Checksum {
                computed,
                found: *found,
            })
        };
    }
    let Some(&function) = buf.get(1) else {
        return Err(truncated(2, buf));
    };
    // The Modbus readings of these bytes, shortest first: the first whose CRC verifies
    // wins, so a frame is found as soon as its last byte arrives.
    let candidates: [Option<(usize, Kind)>; 2] = match function {
        FC_WRITE => {
            // The 8-byte acknowledgement, or a request whose byte count is 2 × quantity.
            let quantity = buf
                .get(4..6)
                .and_then(|q| q.try_into().ok())
                .map(u16::from_be_bytes);
            let count = buf.get(6).copied();
            let request = match (quantity, count) {
                (Some(q), Some(c)) if c != 0 && u16::from(c) == q.wrapping_mul(2) => {
                    Some((9 + usize::from(c), Kind::WriteRequest))
                }
                (None, _) | (_, None) => Some((11, Kind::WriteRequest)),
                _ => None,
            };
            [Some((8, Kind::WriteAck)), request]
        }
        FC_READ => {
            // A response carries whole registers: an odd byte count is no response (this
            // also keeps the 8-byte request and a 3-byte response apart).
            let response = match buf.get(2) {
                None => Some((5, Kind::ReadResponse)),
                Some(&c) if c % 2 == 0 => Some((5 + usize::from(c), Kind::ReadResponse)),
                Some(_) => None,
            };
            match response {
                Some(r) if r.0 < 8 => [response, Some((8, Kind::ReadRequest))],
                _ => [Some((8, Kind::ReadRequest)), response],
            }
        }
        0x83 | 0x90 => [Some((5, Kind::Exception)), None],
        _ => return Err(Error::NotAFrame),
    };
    // Without `fits` the first verified reading wins; with it, a verified reading of exactly
    // `fits` bytes wins and the first verified one is kept in case none fits.
    let mut first = None;
    for (len, kind) in candidates.into_iter().flatten() {
        match crc_ok(buf, len) {
            None => return first.ok_or_else(|| truncated(len, buf)),
            Some(true) if fits.is_none_or(|f| f == len) => return Ok((len, kind)),
            Some(true) => first = first.or(Some((len, kind))),
            Some(false) => {}
        }
    }
    first.ok_or(Error::NotAFrame)
}

/// Check the candidate frame at the start of `buf`; returns its length.
///
/// # Errors
/// [`Error::Truncated`] when more bytes could complete it, [`Error::Checksum`] for a block
/// whose sum8 fails, [`Error::NotAFrame`] otherwise.
pub fn check(buf: &[u8]) -> Result<usize, Error> {
    classify(buf).map(|(len, _)| len)
}

/// Find the next frame in `buf` when no more bytes will follow (the end of a capture): a
/// candidate that would need more bytes is skipped instead of waited for. Returns
/// `(skip, len)`.
pub fn scan_final(buf: &[u8]) -> Option<(usize, usize)> {
    (0..buf.len()).find_map(|start| {
        let rest = buf.get(start..)?;
        classify_preferring(rest, Some(rest.len()))
            .ok()
            .map(|(len, _)| (start, len))
    })
}

/// The JK-PB bus framing for [`voltwire_core::ScanDecoder`] (see [`PbDecoder`](super::PbDecoder)).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, Default)]
pub struct PbFraming;

impl Framing for PbFraming {
    const MAX_FRAME_LEN: usize = MAX_FRAME_LEN;

    fn scan(buf: &[u8]) -> Scan {
        let mut start = 0;
        while let Some(rest) = buf.get(start..) {
            if rest.is_empty() {
                break;
            }
            match classify(rest) {
                Ok((len, _)) => return Scan::Frame { skip: start, len },
                Err(Error::Truncated { .. }) => return Scan::Incomplete { skip: start },
                Err(_) => start += 1,
            }
        }
        Scan::Incomplete { skip: buf.len() }
    }
}

impl Protocol for PbFraming {
    type Message = Message;
    type Error = Error;

    fn parse(frame: &[u8]) -> Result<Message, Error> {
        Message::parse(frame)
    }
}
