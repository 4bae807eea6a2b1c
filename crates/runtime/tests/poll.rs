//! The half-duplex poller against fake devices on the other end of a tokio duplex or a
//! real pty: timeout, retry, echo suppression, response matching, a missing address not
//! stalling the others, two ports in parallel.
//!
//! The duplex tests run on tokio's paused clock (time moves only when every task waits on
//! a timer), so their timing assertions are exact and do not depend on the machine. The
//! pty test is on real time: it asserts order (which port finished first), not speed.
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
    clippy::cast_possible_truncation,
    reason = "test code"
)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use voltwire_core::{Framing, Protocol, Scan, ScanDecoder, checksum::sum8};
use voltwire_runtime::link::{Link, LinkUrl};
use voltwire_runtime::poll::{PollConfig, PollError, Poller};

/// A toy bus protocol: `7E addr len payload.. sum8`. Requests have len 0, replies carry
/// data; the same framing both ways, so an echoed request decodes too (as a request).
struct Toy;

impl Framing for Toy {
    const MAX_FRAME_LEN: usize = 4 + 16;
    fn scan(buf: &[u8]) -> Scan {
        let Some(start) = buf.iter().position(|b| *b == 0x7E) else {
            return Scan::Incomplete { skip: buf.len() };
        };
        let rest = &buf[start..];
        if rest.len() < 3 {
            return Scan::Incomplete { skip: start };
        }
        let len = usize::from(rest[2]);
        if len > 16 {
            return Scan::Incomplete { skip: start + 1 };
        }
        if rest.len() < 4 + len {
            return Scan::Incomplete { skip: start };
        }
        if sum8(&rest[..3 + len]) == rest[3 + len] {
            Scan::Frame {
                skip: start,
                len: 4 + len,
            }
        } else {
            // Retry from the byte after the failed start.
            match Self::scan(&rest[1..]) {
                Scan::Frame { skip, len } => Scan::Frame {
                    skip: start + 1 + skip,
                    len,
                },
                Scan::Incomplete { skip } => Scan::Incomplete {
                    skip: start + 1 + skip,
                },
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Msg {
    addr: u8,
    data: Vec<u8>,
}

impl Protocol for Toy {
    type Message = Msg;
    type Error = ();
    fn parse(frame: &[u8]) -> Result<Msg, ()> {
        Ok(Msg {
            addr: frame[1],
            data: frame[3..frame.len() - 1].to_vec(),
        })
    }
}

type Dec = ScanDecoder<Toy, 64>;
type Item = Result<Msg, ()>;

fn frame(addr: u8, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x7E, addr, data.len() as u8];
    f.extend_from_slice(data);
    f.push(sum8(&f));
    f
}

fn reply_of(addr: u8) -> impl FnMut(&Item) -> bool {
    move |i| matches!(i, Ok(m) if m.addr == addr && !m.data.is_empty())
}

#[derive(Clone, Default)]
struct Device {
    /// Addresses that answer.
    present: HashSet<u8>,
    /// Echo every request back first (RS485 adapter hearing itself).
    echo: bool,
    /// Ignore the first N requests (to exercise retries).
    ignore_first: u32,
    /// Before each reply, also send a stale reply for another address.
    stale_first: bool,
    /// Before each reply, wait until this semaphore has a permit (the test opens it).
    hold: Option<Arc<Semaphore>>,
}

/// The fake bus: reads requests, answers as the addressed device would.
async fn serve(mut io: impl AsyncRead + AsyncWrite + Unpin, dev: Device, seen: Arc<AtomicU32>) {
    let mut dec = Dec::new();
    let mut buf = [0u8; 64];
    loop {
        let Ok(n) = io.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        let mut reqs = Vec::new();
        voltwire_core::StreamDecoder::feed_all(&mut dec, &buf[..n], |i| reqs.push(i.value));
        for req in reqs.into_iter().flatten() {
            let k = seen.fetch_add(1, Ordering::SeqCst);
            if dev.echo {
                io.write_all(&frame(req.addr, &[])).await.unwrap();
            }
            if k < dev.ignore_first || !dev.present.contains(&req.addr) {
                continue;
            }
            if let Some(gate) = &dev.hold {
                drop(gate.acquire().await.unwrap());
            }
            if dev.stale_first {
                io.write_all(&frame(req.addr.wrapping_add(100), &[9, 9]))
                    .await
                    .unwrap();
            }
            // Reply data starts with 0x7E too, like a request: echo suppression must not eat it.
            io.write_all(&frame(req.addr, &[0x7E, req.addr, 0x42]))
                .await
                .unwrap();
        }
    }
}

fn cfg(echo: bool) -> PollConfig {
    PollConfig {
        timeout: Duration::from_millis(100),
        retries: 2,
        gap: Duration::from_millis(5),
        echo,
    }
}

fn start(dev: Device, echo: bool) -> (Poller<tokio::io::DuplexStream, Dec>, Arc<AtomicU32>) {
    let (a, b) = tokio::io::duplex(1024);
    let seen = Arc::new(AtomicU32::new(0));
    tokio::spawn(serve(b, dev, seen.clone()));
    (Poller::new(a, Dec::new(), cfg(echo)), seen)
}

#[tokio::test(start_paused = true)]
async fn answers_and_matches() {
    let (mut p, _) = start(
        Device {
            present: [1].into(),
            stale_first: true,
            ..Device::default()
        },
        false,
    );
    let r = p.request(&frame(1, &[]), reply_of(1)).await.unwrap();
    assert_eq!(
        r,
        Ok(Msg {
            addr: 1,
            data: vec![0x7E, 1, 0x42]
        })
    );
    assert_eq!(
        p.stats().mismatched,
        1,
        "the stale reply for 101 was dropped"
    );
    assert_eq!(p.stats().answered, 1);
}

#[tokio::test(start_paused = true)]
async fn timeout_then_retries() {
    let (mut p, seen) = start(Device::default(), false);
    let t0 = Instant::now();
    let r = p.request(&frame(5, &[]), reply_of(5)).await;
    assert!(
        matches!(r, Err(PollError::Timeout { attempts: 3 })),
        "{r:?}"
    );
    let took = t0.elapsed();
    // Paused clock: exactly three 100 ms timeouts and the 5 ms gaps between the attempts.
    assert_eq!(took, Duration::from_millis(3 * 100 + 2 * 5));
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    assert_eq!(p.stats().timeouts, 3);

    // A device that ignores the first two requests answers the third attempt.
    let (mut p, seen) = start(
        Device {
            present: [5].into(),
            ignore_first: 2,
            ..Device::default()
        },
        false,
    );
    assert!(p.request(&frame(5, &[]), reply_of(5)).await.is_ok());
    assert_eq!(seen.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn echo_suppression_drops_exactly_the_echo() {
    let dev = Device {
        present: [3].into(),
        echo: true,
        ..Device::default()
    };
    let (mut p, _) = start(dev.clone(), true);
    // The predicate accepts any message for address 3, even an (empty) echo: with
    // suppression on, the echo never reaches it.
    let any3 = |i: &Item| matches!(i, Ok(m) if m.addr == 3);
    let r = p.request(&frame(3, &[]), any3).await.unwrap();
    assert_eq!(r.unwrap().data, vec![0x7E, 3, 0x42]);
    assert_eq!(p.stats().echo_bytes, 4);
    assert_eq!(p.stats().mismatched, 0);

    // Without suppression the echo is what the same predicate sees first.
    let (mut p, _) = start(dev, false);
    let r = p.request(&frame(3, &[]), any3).await.unwrap();
    assert_eq!(r.unwrap().data, Vec::<u8>::new());

    // Suppression on but the adapter does not echo: the reply (which starts like the
    // request) is given back in full.
    let (mut p, _) = start(
        Device {
            present: [3].into(),
            ..Device::default()
        },
        true,
    );
    let r = p.request(&frame(3, &[]), any3).await.unwrap();
    assert_eq!(r.unwrap().data, vec![0x7E, 3, 0x42]);
    assert_eq!(p.stats().echo_bytes, 0);
}

#[tokio::test(start_paused = true)]
async fn missing_address_does_not_stall_others() {
    let (mut p, _) = start(
        Device {
            present: [1, 2, 4].into(),
            echo: true,
            ..Device::default()
        },
        true,
    );
    let addrs = [1_u8, 2, 3, 4];
    let req = |a: &u8| frame(*a, &[]);
    let ok = |a: &u8, i: &Item| matches!(i, Ok(m) if m.addr == *a && !m.data.is_empty());

    let t0 = Instant::now();
    let first = p.poll_each(&addrs, req, ok).await;
    let took_first = t0.elapsed();
    let got: Vec<(u8, bool)> = first.iter().map(|(a, r)| (*a, r.is_ok())).collect();
    assert_eq!(got, [(1, true), (2, true), (3, false), (4, true)]);
    assert!(matches!(
        first[2].1,
        Err(PollError::Timeout { attempts: 3 })
    ));
    // Paused clock: three 100 ms timeouts for the missing one, no fourth, and the answers
    // (which take no time here) with a few 5 ms gaps.
    assert!(
        took_first >= Duration::from_millis(300) && took_first < Duration::from_millis(400),
        "{took_first:?}"
    );

    // Next cycle: the missing address gets a single attempt.
    let t1 = Instant::now();
    let second = p.poll_each(&addrs, req, ok).await;
    let took_second = t1.elapsed();
    assert!(matches!(
        second[2].1,
        Err(PollError::Timeout { attempts: 1 })
    ));
    assert_eq!(second.iter().filter(|(_, r)| r.is_ok()).count(), 3);
    // One timeout this time.
    assert!(
        took_second >= Duration::from_millis(100) && took_second < Duration::from_millis(200),
        "{took_second:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn link_closed_is_reported_not_retried() {
    let (a, b) = tokio::io::duplex(64);
    drop(b);
    let mut p = Poller::new(a, Dec::new(), cfg(false));
    let r = p.request(&frame(1, &[]), reply_of(1)).await;
    assert!(r.as_ref().is_err_and(PollError::is_link_error), "{r:?}");
}

#[tokio::test]
async fn two_pty_ports_in_parallel() {
    let dir = common::scratch("poll-pty");
    let p1 = common::PtyPair::start(&dir.join("a1"), &dir.join("b1"));
    let p2 = common::PtyPair::start(&dir.join("a2"), &dir.join("b2"));
    let open = |p: &std::path::Path| {
        let u: LinkUrl = common::PtyPair::url(p, 9600).parse().unwrap();
        async move { Link::open(&u).await.unwrap() }
    };
    // Port 1: one device that holds its replies until the test lets it; port 2: fast
    // devices. The test lets port 1 answer only once port 2 has finished all its requests:
    // if the ports held each other up, port 1's first request would time out instead.
    let gate = Arc::new(Semaphore::new(0));
    let slow = Device {
        present: [1].into(),
        hold: Some(gate.clone()),
        ..Device::default()
    };
    let fast = Device {
        present: [1, 2].into(),
        ..Device::default()
    };
    let seen = Arc::new(AtomicU32::new(0));
    tokio::spawn(serve(open(&p1.b).await, slow, seen.clone()));
    tokio::spawn(serve(open(&p2.b).await, fast, seen.clone()));
    // Generous: on a loaded machine a healthy reply may be slow; nothing here waits for one.
    let config = PollConfig {
        timeout: Duration::from_secs(10),
        ..cfg(false)
    };
    let mut q1 = Poller::new(open(&p1.a).await, Dec::new(), config);
    let mut q2 = Poller::new(open(&p2.a).await, Dec::new(), config);
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = order.clone();
    let h1 = tokio::spawn(async move {
        for k in 1..=4 {
            let r = q1.request(&frame(1, &[]), reply_of(1)).await;
            assert!(
                r.as_ref().is_ok_and(Result::is_ok),
                "slow port, request {k}: {r:?}"
            );
            log.lock().unwrap().push(format!("slow {k}"));
        }
    });
    let log = order.clone();
    let h2 = tokio::spawn(async move {
        for i in 0..20_u8 {
            let a = 1 + i % 2;
            let r = q2.request(&frame(a, &[]), reply_of(a)).await;
            assert_eq!(r.unwrap().unwrap().addr, a, "fast port, request {i}");
        }
        log.lock().unwrap().push("fast 20".to_owned());
        gate.add_permits(Semaphore::MAX_PERMITS >> 1);
    });
    h2.await.unwrap();
    h1.await.unwrap();
    // The fast port finished its 20 requests while the slow port was still on its first.
    assert_eq!(
        *order.lock().unwrap(),
        ["fast 20", "slow 1", "slow 2", "slow 3", "slow 4"]
    );
    assert_eq!(seen.load(Ordering::SeqCst), 24);
    drop((p1, p2));
}
