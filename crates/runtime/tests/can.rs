//! CAN: the in-process virtual bus, and the SLCAN backend over a real pty pair
//! against a fake adapter built on our own `voltwire_slcan::AdapterDecoder`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::many_single_char_names,
    clippy::similar_names,
    clippy::naive_bytecount,
    reason = "test code"
)]

mod common;

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;
use voltwire_core::{Emit, StreamDecoder};
use voltwire_runtime::can::{CanBus, CanError, CanFrame, SlcanBus, VirtualBus};
use voltwire_runtime::link::{Link, LinkUrl};
use voltwire_slcan::{AdapterDecoder, Command, Dialect, FrameLine, Response};

const T: Duration = Duration::from_secs(3);

#[tokio::test]
async fn virtual_bus_broadcasts_to_others_only() {
    let bus = VirtualBus::new(16);
    let (mut a, mut b, mut c) = (bus.node(), bus.node(), bus.node());
    let f = CanFrame::data_frame(0x1806_E5F4, true, &[0x01, 0x02, 0x03]).unwrap();
    a.send(&f).await.unwrap();
    assert_eq!(tokio::time::timeout(T, b.recv()).await.unwrap().unwrap(), f);
    assert_eq!(tokio::time::timeout(T, c.recv()).await.unwrap().unwrap(), f);
    // The sender does not hear itself.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), a.recv())
            .await
            .is_err()
    );
    let r = CanFrame::remote_frame(0x305, false, 8).unwrap();
    b.send(&r).await.unwrap();
    assert_eq!(a.recv().await.unwrap(), r);
    // Invalid frames cannot be built, so no backend ever sees one.
    assert_eq!(CanFrame::data_frame(0x800, false, &[]), None);
    assert_eq!(CanFrame::data_frame(1, false, &[0; 9]), None);
}

#[tokio::test]
async fn virtual_bus_slow_node_loses_but_continues() {
    let bus = VirtualBus::new(4);
    let (mut a, mut b) = (bus.node(), bus.node());
    for i in 0..10_u8 {
        a.send(&CanFrame::data_frame(0x100, false, &[i]).unwrap())
            .await
            .unwrap();
    }
    let first = b.recv().await.unwrap();
    assert_eq!(first.data(), [6]);
    assert_eq!(b.lost(), 6);
}

/// A fake SLCAN adapter on the far end of the pty: acknowledges `C`/`S`/`O` with CR (BEL
/// for a bad bitrate code), reports transmitted frames on `tx`, sends frames from `rx` to
/// the host with a timestamp.
async fn adapter(mut io: Link, tx: mpsc::Sender<Command>, mut rx: mpsc::Receiver<CanFrame>) {
    let mut dec = AdapterDecoder::new();
    let mut buf = [0u8; 256];
    let mut out = [0u8; 64];
    loop {
        tokio::select! {
            n = io.read(&mut buf) => {
                let Ok(n) = n else { return };
                if n == 0 { return; }
                let mut cmds = Vec::new();
                dec.feed_all(&buf[..n], |c| cmds.push(c.value));
                for c in cmds {
                    let c = c.unwrap();
                    let reply = match c {
                        Command::Bitrate(code) if code > 8 => Some(Response::Error),
                        Command::Close | Command::Open | Command::Bitrate(_) => Some(Response::Ok),
                        _ => None,
                    };
                    if let Some(r) = reply {
                        let k = r.emit(&mut out).unwrap();
                        io.write_all(&out[..k]).await.unwrap();
                    }
                    tx.send(c).await.unwrap();
                }
            }
            f = rx.recv() => {
                let Some(f) = f else { return };
                let mut line = FrameLine::from(f);
                line.timestamp = Some(1234);
                let k = Response::Frame(line).emit(&mut out).unwrap();
                io.write_all(&out[..k]).await.unwrap();
            }
        }
    }
}

#[tokio::test]
async fn slcan_over_pty() {
    let dir = common::scratch("slcan");
    let pair = common::PtyPair::start(&dir.join("host"), &dir.join("adapter"));
    let url =
        |p: &std::path::Path| -> LinkUrl { common::PtyPair::url(p, 115_200).parse().unwrap() };
    let far = Link::open(&url(&pair.b)).await.unwrap();
    let (ctx, mut crx) = mpsc::channel(16);
    let (ftx, frx) = mpsc::channel(16);
    tokio::spawn(adapter(far, ctx, frx));

    let link = Link::open(&url(&pair.a)).await.unwrap();
    let mut bus = tokio::time::timeout(T, SlcanBus::open(link, 250_000, Dialect::Canable))
        .await
        .unwrap()
        .unwrap();
    // The open sequence the adapter saw.
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(crx.recv().await.unwrap());
    }
    assert_eq!(seen, [Command::Close, Command::Bitrate(5), Command::Open]);

    // Host -> adapter: standard, extended and remote frames.
    let frames = [
        CanFrame::data_frame(
            0x351,
            false,
            &[0x2C, 0x02, 0xE8, 0x03, 0xE8, 0x03, 0xD0, 0x01],
        )
        .unwrap(),
        CanFrame::data_frame(0x000C_0300, true, &[0x60, 0x00]).unwrap(),
        CanFrame::remote_frame(0x305, false, 0).unwrap(),
    ];
    for f in &frames {
        bus.send(f).await.unwrap();
        let Command::Transmit(line) = crx.recv().await.unwrap() else {
            panic!()
        };
        assert_eq!(line.frame.id(), f.id());
        assert_eq!(line.frame.is_extended(), f.is_extended());
        assert_eq!(line.frame.is_remote(), f.is_remote());
        assert_eq!(line.frame, *f);
    }

    // Adapter -> host, timestamped lines included.
    for f in &frames {
        ftx.send(*f).await.unwrap();
        let got = tokio::time::timeout(T, bus.recv()).await.unwrap().unwrap();
        assert_eq!(got, *f);
    }
    let link = bus.close().await.unwrap();
    assert_eq!(crx.recv().await.unwrap(), Command::Close);
    link.close().await.unwrap();
}

#[tokio::test]
async fn slcan_open_errors() {
    // Unknown bitrate: refused before any I/O.
    let (a, _b) = tokio::io::duplex(64);
    assert!(matches!(
        SlcanBus::open(a, 123_456, Dialect::Canable).await,
        Err(CanError::Bitrate(123_456))
    ));
    // A silent adapter: `S` is not answered.
    let (a, _b) = tokio::io::duplex(64);
    let r = tokio::time::timeout(T, SlcanBus::open(a, 500_000, Dialect::Lawicel))
        .await
        .unwrap();
    assert!(matches!(r, Err(CanError::NoAnswer("S"))), "{r:?}");
    // An adapter that answers BEL to everything.
    let (a, mut b) = tokio::io::duplex(64);
    tokio::spawn(async move {
        let mut buf = [0u8; 64];
        while let Ok(n) = b.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let crs = buf[..n].iter().filter(|c| **c == b'\r').count();
            b.write_all(&vec![0x07; crs]).await.unwrap();
        }
    });
    let r = SlcanBus::open(a, 500_000, Dialect::Lawicel).await;
    assert!(matches!(r, Err(CanError::Rejected("S"))), "{r:?}");
}

/// Read one CR-terminated line written by the host.
async fn host_line(b: &mut tokio::io::DuplexStream) -> Vec<u8> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        b.read_exact(&mut byte).await.unwrap();
        if byte[0] == b'\r' {
            return line;
        }
        line.push(byte[0]);
    }
}

#[tokio::test(start_paused = true)]
async fn slcan_lawicel_send_waits_for_the_acknowledgement() {
    let (a, mut b) = tokio::io::duplex(4096);
    let adapter = tokio::spawn(async move {
        // Open sequence: C, S6, O, each answered with CR.
        for want in [&b"C"[..], b"S6", b"O"] {
            assert_eq!(host_line(&mut b).await, want);
            b.write_all(b"\r").await.unwrap();
        }
        // First transmit: a received frame arrives before the `z`; it must not be lost.
        assert_eq!(host_line(&mut b).await, b"t3510");
        b.write_all(b"t305100\rz\r").await.unwrap();
        // Second: rejected with BEL.
        assert_eq!(host_line(&mut b).await, b"t3510");
        b.write_all(b"\x07").await.unwrap();
        // Third: never answered (a hung adapter or console server).
        assert_eq!(host_line(&mut b).await, b"t3510");
        b
    });
    let mut bus = SlcanBus::open(a, 500_000, Dialect::Lawicel).await.unwrap();
    assert!(bus.waits_for_acks());
    let f = CanFrame::standard(0x351, &[]).unwrap();
    bus.send(&f).await.unwrap();
    let got = bus.recv().await.unwrap();
    assert_eq!((got.id(), got.data()), (0x305, &[0u8][..]));
    assert!(matches!(bus.send(&f).await, Err(CanError::Rejected("t"))));
    let start = tokio::time::Instant::now();
    let r = bus.send(&f).await;
    assert!(matches!(r, Err(CanError::NoAnswer("t"))), "{r:?}");
    assert!(start.elapsed() >= voltwire_runtime::can::SLCAN_REPLY_TIMEOUT);
    drop(adapter.await.unwrap());
}

#[tokio::test]
async fn slcan_canable_and_attached_buses_do_not_wait() {
    let (a, mut b) = tokio::io::duplex(4096);
    let mut bus = SlcanBus::open(a, 500_000, Dialect::Canable).await.unwrap();
    assert!(!bus.waits_for_acks());
    for want in [&b"C"[..], b"S6", b"O"] {
        assert_eq!(host_line(&mut b).await, want);
    }
    let f = CanFrame::standard(0x351, &[1]).unwrap();
    tokio::time::timeout(T, bus.send(&f))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(host_line(&mut b).await, b"t351101");
    let (a, _b) = tokio::io::duplex(4096);
    let mut bus = SlcanBus::attach(a);
    assert!(!bus.waits_for_acks());
    tokio::time::timeout(T, bus.send(&f))
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn slcan_malformed_lines_are_counted_and_skipped() {
    let (a, mut b) = tokio::io::duplex(4096);
    let mut bus = SlcanBus::attach(a);
    // A bad length digit, a bad hex digit, a truncated frame, then a good frame; an unknown
    // command line (`O`, as a peer host's open sequence) is not malformed.
    b.write_all(b"t3519\rt35120G\rt35\rO\rt3551AB\r")
        .await
        .unwrap();
    let got = tokio::time::timeout(T, bus.recv()).await.unwrap().unwrap();
    assert_eq!((got.id(), got.data()), (0x355, &[0xABu8][..]));
    assert_eq!(bus.bad_lines(), 3);
    assert_eq!(bus.malformed(), 3);
}
