//! The `tokio_util` codec (feature `tokio-codec`): a real BMV-700 recording read through
//! `FramedRead` in small pieces gives every record, and the cut-off tail is not an I/O error.
#![cfg(feature = "tokio-codec")]
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::std_instead_of_core,
    reason = "test code"
)]

use futures_util::StreamExt as _;
use tokio_util::codec::FramedRead;
use voltwire_victron::text::{Message, VeDirectCodec};

/// An `AsyncRead` that hands out at most 7 bytes per read, like a slow serial port.
struct Trickle(&'static [u8]);

impl tokio::io::AsyncRead for Trickle {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let n = self.0.len().min(7).min(buf.remaining());
        let (head, tail) = self.0.split_at(n);
        buf.put_slice(head);
        self.0 = tail;
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test(flavor = "current_thread")]
async fn framed_read_over_a_recording() {
    let bytes: &'static [u8] =
        include_bytes!("../../../testdata/victron/bmv700-fw308-karioja-dump.bin");
    let mut framed = FramedRead::new(Trickle(bytes), VeDirectCodec::default());
    let (mut records, mut errors) = (0, Vec::new());
    while let Some(item) = framed.next().await {
        match item.unwrap() {
            Ok(Message::Record(r)) => {
                assert!(r.battery_voltage().is_some());
                records += 1;
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => errors.push(e.code()),
        }
    }
    assert_eq!(records, 453); // 906 blocks: main + history per cycle
    assert_eq!(errors, ["truncated"]); // the recording stops inside a block
}
