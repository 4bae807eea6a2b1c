//! The Trucki (SUN-GTIL2) device task against `voltwire-sim`'s simulated board served as
//! Modbus RTU over TCP: a board found at 500 W is zeroed first, then follows the set point
//! (register 0 and its mirror), and is set to 0 W on stop. Order and content only; the
//! timeouts guard failures.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::panic
)]

use std::time::Duration;

use tokio::sync::watch;
use tokio_modbus::prelude::*;
use voltwire_core::Watts;
use voltwire_sim::Plant;
use voltwire_sim::modbus::Trucki as SimTrucki;
use voltwire_sim::serve::rtu::RtuPort;
use voltwire_zero_feed_in_rules::{DeviceCommand, DeviceStatus};
use zero_feed_in::engine::Clock;
use zero_feed_in::trucki::{Trucki, run};

mod common;
use common::serve_tcp;

/// Serves a simulated board (address 1) on a free TCP port from a thread of its own.
fn serve_board() -> String {
    serve_tcp(RtuPort::new(
        Plant::single(16, 0.6),
        Box::new(SimTrucki::new()),
        1.0,
    ))
}

/// Registers 0..=7 of the board, read by a client of the test's own.
async fn registers(addr: &str) -> Vec<u16> {
    let s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut ctx = tokio_modbus::client::rtu::attach_slave(s, Slave(1));
    tokio::time::timeout(Duration::from_secs(10), ctx.read_holding_registers(0, 8))
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

async fn write(addr: &str, deciwatts: u16) {
    let s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut ctx = tokio_modbus::client::rtu::attach_slave(s, Slave(1));
    tokio::time::timeout(
        Duration::from_secs(10),
        ctx.write_multiple_registers(0, &[deciwatts]),
    )
    .await
    .unwrap()
    .unwrap()
    .unwrap();
}

/// Waits until the reported deliveries (deduplicated, in order) end with `tail`.
async fn delivered_until(
    rx: &mut watch::Receiver<DeviceStatus>,
    seen: &mut Vec<i32>,
    tail: &[i32],
) {
    let r = tokio::time::timeout(Duration::from_secs(60), async {
        while !seen.ends_with(tail) {
            rx.changed().await.unwrap();
            if let Some(w) = rx.borrow_and_update().delivered {
                if seen.last() != Some(&w.0) {
                    seen.push(w.0);
                }
            }
        }
    })
    .await;
    assert!(r.is_ok(), "deliveries {seen:?} never ended with {tail:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zeroed_first_then_follows_and_zero_on_stop() {
    let addr = serve_board();
    // The board runs at 500 W before we take over (state unknown to the app).
    write(&addr, 5000).await;
    assert_eq!(registers(&addr).await[..2], [5000, 5000]);

    let (cmd_tx, cmd_rx) = watch::channel(DeviceCommand {
        power: Watts(-300),
        current: None,
        voltage: None,
    });
    let (status_tx, mut status_rx) = watch::channel(DeviceStatus::default());
    let task = tokio::spawn(run(
        Trucki {
            port: format!("tcp://{addr}").parse().unwrap(),
            address: 1,
            max: Watts(2000),
        },
        Clock::start(1),
        cmd_rx,
        status_tx,
    ));
    let mut seen = Vec::new();
    delivered_until(&mut status_rx, &mut seen, &[-300]).await;
    assert_eq!(seen, [-500, 0, -300], "found at 500 W, zeroed, then 300 W");

    cmd_tx.send_replace(DeviceCommand {
        power: Watts(-120),
        current: None,
        voltage: None,
    });
    delivered_until(&mut status_rx, &mut seen, &[-300, -120]).await;
    // Above the rating: clamped to it.
    cmd_tx.send_replace(DeviceCommand {
        power: Watts(-5000),
        current: None,
        voltage: None,
    });
    delivered_until(&mut status_rx, &mut seen, &[-120, -2000]).await;

    drop(cmd_tx);
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap();
    let regs = registers(&addr).await;
    assert_eq!((regs[0], regs[6]), (0, 0), "0 W on stop, mirror too");
}
