//! The `embedded-io` adapters of `voltwire-core` over a real BMV-700 recording: a slow
//! reader (7 bytes per read) through a 16-byte buffer, and a `BufRead` over the whole
//! recording, both give every record and the cut-off tail as the last item.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use voltwire_core::io::{DecodeBufReader, DecodeReader};
use voltwire_victron::text::{Message, RecordDecoder};

const RECORDING: &[u8] = include_bytes!("../../../testdata/victron/bmv700-fw308-karioja-dump.bin");

/// A serial port that hands out at most 7 bytes per read.
struct Trickle(&'static [u8]);

impl embedded_io::ErrorType for Trickle {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.0.len().min(7).min(buf.len());
        let (head, tail) = self.0.split_at(n);
        buf[..n].copy_from_slice(head);
        self.0 = tail;
        Ok(n)
    }
}

fn tally<E: core::fmt::Debug>(
    items: impl Iterator<
        Item = Result<
            voltwire_core::Located<<RecordDecoder as voltwire_core::StreamDecoder>::Item>,
            E,
        >,
    >,
) -> (usize, Vec<&'static str>) {
    let (mut records, mut errors) = (0, Vec::new());
    for item in items {
        match item.unwrap().value {
            Ok(Message::Record(r)) => {
                assert!(r.battery_voltage().is_some());
                records += 1;
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => errors.push(e.code()),
        }
    }
    (records, errors)
}

#[test]
fn decode_reader_small_buffer_slow_port() {
    let mut buf = [0u8; 16];
    let reader = DecodeReader::new(Trickle(RECORDING), RecordDecoder::new(), &mut buf);
    let (records, errors) = tally(reader);
    assert_eq!(records, 453); // 906 blocks: main + history per cycle
    assert_eq!(errors, ["truncated"]); // the recording stops inside a block
}

#[test]
fn decode_buf_reader_over_a_slice() {
    let reader = DecodeBufReader::new(RECORDING, RecordDecoder::new());
    let (records, errors) = tally(reader);
    assert_eq!(records, 453);
    assert_eq!(errors, ["truncated"]);
}
