//! Links over a real pty pair (opened from Rust) and over loopback TCP, including reconnect
//! after the peer goes away and comes back.
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

use common::PtyPair;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use voltwire_runtime::link::{Backoff, Link, LinkUrl, Reconnect};

const T: Duration = Duration::from_secs(3);

fn fast_backoff() -> Backoff {
    Backoff::new(
        Duration::from_millis(20),
        Duration::from_millis(100),
        200,
        42,
    )
}

async fn read_exact(link: &mut Link, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    tokio::time::timeout(T, link.read_exact(&mut buf))
        .await
        .expect("data in time")
        .unwrap();
    buf
}

#[tokio::test]
async fn pty_both_ways_and_close() {
    let dir = common::scratch("pty");
    let pair = PtyPair::start(&dir.join("a"), &dir.join("b"));
    let ua: LinkUrl = PtyPair::url(&pair.a, 9600).parse().unwrap();
    let ub: LinkUrl = PtyPair::url(&pair.b, 9600).parse().unwrap();
    let mut a = Link::open(&ua).await.unwrap();
    let mut b = Link::open(&ub).await.unwrap();
    assert_eq!(a.url(), &ua);
    a.write_all(b"\xA5\x40\x90\x08\x00\x00\x00\x00\x00\x00\x00\x00\x7D")
        .await
        .unwrap();
    assert_eq!(
        read_exact(&mut b, 13).await,
        b"\xA5\x40\x90\x08\x00\x00\x00\x00\x00\x00\x00\x00\x7D"
    );
    b.write_all(b"~20014A42E00201FD28\r").await.unwrap();
    assert_eq!(read_exact(&mut a, 20).await, b"~20014A42E00201FD28\r");
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test]
async fn pty_vanishes_and_comes_back() {
    let dir = common::scratch("pty-reconnect");
    let (pa, pb) = (dir.join("a"), dir.join("b"));
    let pair = PtyPair::start(&pa, &pb);
    let url: LinkUrl = PtyPair::url(&pa, 115_200).parse().unwrap();
    let mut rc = Reconnect::new(url.clone(), fast_backoff());
    let mut link = rc.connect(Some(1)).await.unwrap();
    pair.kill();
    // The port vanished: reads end (EOF or error), opening fails.
    let mut buf = [0u8; 8];
    let r = tokio::time::timeout(T, link.read(&mut buf)).await.unwrap();
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    assert!(rc.connect(Some(2)).await.is_err());
    // It comes back while we retry.
    let (pa2, pb2) = (pa.clone(), pb.clone());
    let back = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(300));
        PtyPair::start(&pa2, &pb2)
    });
    let mut link = tokio::time::timeout(T, rc.connect(None))
        .await
        .unwrap()
        .unwrap();
    let pair = back.await.unwrap();
    let mut peer = Link::open(&PtyPair::url(&pair.b, 115_200).parse().unwrap())
        .await
        .unwrap();
    link.write_all(b"hello").await.unwrap();
    assert_eq!(read_exact(&mut peer, 5).await, b"hello");
}

#[tokio::test]
async fn tcp_roundtrip_reconnect_after_peer_restart() {
    // Find a free port, then leave it closed: connections are refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url: LinkUrl = format!("tcp://127.0.0.1:{port}").parse().unwrap();
    let mut rc = Reconnect::new(url, fast_backoff());
    assert!(rc.connect(Some(3)).await.is_err(), "nobody listens yet");

    // The server comes up later; connect() keeps retrying until then.
    let server = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let l = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        // First session: answer one request, then go away.
        let (mut s, _) = l.accept().await.unwrap();
        let mut b = [0u8; 4];
        s.read_exact(&mut b).await.unwrap();
        s.write_all(&[b[0] + 1, b[1], b[2], b[3]]).await.unwrap();
        drop(s);
        drop(l);
        // Down for a while, then back.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let l = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let (mut s, _) = l.accept().await.unwrap();
        s.write_all(b"again").await.unwrap();
        s.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    });

    let mut link = tokio::time::timeout(T, rc.connect(None))
        .await
        .unwrap()
        .unwrap();
    link.write_all(b"\x01abc").await.unwrap();
    assert_eq!(read_exact(&mut link, 4).await, b"\x02abc");
    // The peer went away: end of file.
    let mut b = [0u8; 1];
    let n = tokio::time::timeout(T, link.read(&mut b))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0);
    let mut link = tokio::time::timeout(T, rc.connect(None))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read_exact(&mut link, 5).await, b"again");
    link.close().await.unwrap();
    server.await.unwrap();
}

/// A `tracing` writer that keeps what is logged.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl tracing_subscriber::fmt::MakeWriter<'_> for Captured {
    type Writer = Self;
    fn make_writer(&self) -> Self {
        self.clone()
    }
}

#[test]
fn logs_name_the_link_as_the_user_wrote_it() {
    let dir = common::scratch("label");
    let missing = dir.join("ttyACM0");
    let url: LinkUrl = PtyPair::url(&missing, 115_200).parse().unwrap();
    let log = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_ansi(false)
        .finish();
    let user = format!("slcan://{}?bitrate=500000", missing.display());
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut rc = Reconnect::new(url.clone(), fast_backoff()).with_label(user.clone());
            assert_eq!(rc.label(), user);
            assert!(rc.connect(Some(2)).await.is_err());
            // Without a label, the link URL is the name.
            let mut plain = Reconnect::new(url.clone(), fast_backoff());
            assert_eq!(plain.label(), url.to_string());
            assert!(plain.connect(Some(2)).await.is_err());
        });
    });
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains(&format!("url={user}")), "{text}");
    assert!(!lines[0].contains("serial://"), "{text}");
    assert!(lines[1].contains(&format!("url={url}")), "{text}");
}
