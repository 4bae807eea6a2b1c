//! `voltwire sim --fault drop --drop-after S --drop-for S`: the port goes away and comes
//! back, and `voltwire-runtime`'s link notices, reconnects with backoff and reads again.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

mod sim_common;

use std::time::{Duration, Instant};

use voltwire_core::Emit as _;
use voltwire_jk::pb::{Message, PbDecoder, Trigger};
use voltwire_runtime::link::{Backoff, LinkUrl, Reconnect};
use voltwire_runtime::poll::{PollConfig, Poller};

/// What the client saw, in order.
#[derive(Debug, Default)]
struct Seen {
    before: u32,
    link_errors: u32,
    reconnects: u32,
    after: u32,
}

/// Poll the JK-PB status block every 100 ms through `url` for up to `budget`, reconnecting
/// (with backoff) whenever the link fails; stop after three reads following a reconnect.
async fn poll_through_drop(url: LinkUrl, budget: Duration) -> Seen {
    let mut req = [0_u8; 16];
    let n = Message::trigger(1, Trigger::Status).emit(&mut req).unwrap();
    let req = &req[..n];
    let mut reconnect = Reconnect::new(
        url,
        Backoff::new(
            Duration::from_millis(50),
            Duration::from_millis(400),
            200,
            3,
        ),
    );
    // A generous reply timeout: on a loaded machine a healthy reply may be slow, and three
    // timeouts in a row would count as a drop.
    let config = PollConfig {
        timeout: Duration::from_secs(1),
        retries: 0,
        gap: Duration::from_millis(20),
        echo: false,
    };
    let end = Instant::now() + budget;
    let mut seen = Seen::default();
    let mut poller = Poller::new(
        reconnect.connect(Some(20)).await.unwrap(),
        PbDecoder::new(),
        config,
    );
    let mut timeouts_in_a_row = 0;
    while Instant::now() < end && seen.after < 3 {
        let r = poller
            .request(req, |item| {
                matches!(item, Ok(Message::Block(b)) if b.status().is_some_and(|s| s.cell_mask == 0xFFFF))
            })
            .await;
        match r {
            Ok(_) => {
                timeouts_in_a_row = 0;
                if seen.reconnects == 0 {
                    seen.before += 1;
                } else {
                    seen.after += 1;
                }
            }
            Err(e) if e.is_link_error() || timeouts_in_a_row >= 3 => {
                seen.link_errors += u32::from(e.is_link_error());
                timeouts_in_a_row = 0;
                drop(poller);
                // Retries with backoff until the port is back.
                let link = reconnect.connect(None).await.unwrap();
                seen.reconnects += 1;
                poller = Poller::new(link, PbDecoder::new(), config);
            }
            Err(_) => timeouts_in_a_row += 1,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen
}

fn run(listen: &str) -> (Seen, Duration) {
    let sim = sim_common::sim(&[
        "jk-pb",
        "--listen",
        listen,
        "--fault",
        "drop",
        "--drop-after",
        "2",
        "--drop-for",
        "1.5",
    ]);
    let url: LinkUrl = if listen == "pty" {
        assert!(
            sim.listening.ends_with("/tty"),
            "a dropping pty is announced as a stable link: {}",
            sim.listening
        );
        format!("serial://{}?baud=115200", sim.listening)
            .parse()
            .unwrap()
    } else {
        format!("tcp://{}", sim.listening).parse().unwrap()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    let seen = rt.block_on(poll_through_drop(url, Duration::from_secs(30)));
    drop(sim);
    (seen, start.elapsed())
}

fn check(listen: &str) {
    let (seen, took) = run(listen);
    assert!(
        seen.before >= 3,
        "{listen}: reads before the drop: {seen:?}"
    );
    assert!(
        seen.link_errors >= 1,
        "{listen}: the drop was seen as a link error: {seen:?}"
    );
    assert_eq!(seen.reconnects, 1, "{listen}: one reconnect: {seen:?}");
    assert_eq!(
        seen.after, 3,
        "{listen}: reads after the port came back: {seen:?}"
    );
    // 2 s up (room for three reads at 10 a second, even on a loaded machine), 1.5 s down:
    // the reads after the drop cannot come before 3.5 s. (A lower bound only: a slow machine
    // makes it later, never earlier.)
    assert!(took >= Duration::from_millis(3_500), "{listen}: {took:?}");
}

#[test]
fn pty_drop_recovers() {
    check("pty");
}

#[test]
fn tcp_drop_recovers() {
    check("tcp://127.0.0.1:0");
}
