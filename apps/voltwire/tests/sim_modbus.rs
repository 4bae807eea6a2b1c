//! `voltwire sim lumentree|coulombmeter` on loopback TCP (RTU over TCP), read with
//! `tokio-modbus` as the client and decoded with `voltwire-modbus`; the output faults seen
//! as raw bytes; usage errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

use std::io::{Read as _, Write as _};
use std::process::Command;
use std::time::Duration;

use tokio_modbus::prelude::*;
use voltwire_core::{MilliampHours, Watts};
use voltwire_modbus::{coulomb_meter, lumentree, rtu};

mod sim_common;
use sim_common::sim;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn connect(addr: &str, slave: u8) -> client::Context {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio_modbus::client::rtu::attach_slave(stream, Slave(slave))
}

#[test]
fn coulomb_meter_over_rtu_over_tcp() {
    let s = sim(&[
        "coulombmeter",
        "--listen",
        "tcp://127.0.0.1:0",
        "--soc",
        "80",
        "--address",
        "3",
    ]);
    runtime().block_on(async {
        let mut ctx = connect(&s.listening, 3).await;
        let regs = tokio::time::timeout(Duration::from_secs(5), ctx.read_input_registers(0, 12))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let st = coulomb_meter::Status::from_registers(&regs).unwrap();
        assert!((770..=800).contains(&st.soc.0), "{st:?}");
        assert_eq!(st.state, coulomb_meter::State::Discharging);
        assert!((48_000..=56_000).contains(&st.voltage.0), "{st:?}");
        // 500 W discharge by default.
        assert!((490..=510).contains(&st.power().0), "{st:?}");
        assert!(st.current.0 < -8_000, "{st:?}");

        let set = ctx.read_holding_registers(0, 10).await.unwrap().unwrap();
        let settings = coulomb_meter::Settings::from_registers(&set).unwrap();
        assert_eq!(settings.address, 3);
        assert_eq!(settings.capacity, MilliampHours(100_000));
        let cap = coulomb_meter::Settings::capacity_registers(MilliampHours(240_000)).unwrap();
        ctx.write_multiple_registers(1, &cap)
            .await
            .unwrap()
            .unwrap();
        let back = ctx.read_holding_registers(1, 2).await.unwrap().unwrap();
        assert_eq!(back, cap);
        // A range past the map is an exception, not a hang.
        let e = ctx.read_input_registers(10, 5).await.unwrap();
        assert_eq!(e, Err(ExceptionCode::IllegalDataAddress));
    });
}

#[test]
fn lumentree_set_point_changes_the_output() {
    let s = sim(&[
        "lumentree",
        "--listen",
        "tcp://127.0.0.1:0",
        "--discharge",
        "800",
    ]);
    runtime().block_on(async {
        let mut ctx = connect(&s.listening, 1).await;
        let mut regs = Vec::new();
        for r in lumentree::STATUS_REGISTERS {
            regs.push(ctx.read_holding_registers(r, 1).await.unwrap().unwrap()[0]);
        }
        let st = lumentree::Status::from_registers(&regs).unwrap();
        assert_eq!(st.output_power(), Watts(800));
        assert_eq!(st.grid_voltage.0, 230_000);
        assert!((48_000..=56_000).contains(&st.battery_voltage.0), "{st:?}");
        let set = lumentree::SetOutputPower::new(Watts(250)).unwrap();
        ctx.write_multiple_registers(lumentree::SetOutputPower::REGISTER, &[set.to_register()])
            .await
            .unwrap()
            .unwrap();
        let p = ctx
            .read_holding_registers(lumentree::OUTPUT_POWER, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p, vec![2500]);
        let e = ctx.write_single_register(40, 2001).await.unwrap();
        assert_eq!(e, Err(ExceptionCode::IllegalDataValue));
        let block = ctx
            .read_holding_registers(lumentree::BLOCK_START, 40)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            lumentree::Status::from_block(&block)
                .unwrap()
                .output_power(),
            Watts(250)
        );
    });
}

/// Send one raw RTU read of 12 input registers from slave 1; what comes back within `wait`.
fn raw_read(addr: &str, wait: Duration) -> Vec<u8> {
    let mut t = std::net::TcpStream::connect(addr).unwrap();
    t.set_read_timeout(Some(wait)).unwrap();
    let mut req = [0u8; 8];
    rtu::read_request(1, rtu::READ_INPUT_REGISTERS, 0, 12, &mut req).unwrap();
    if t.write_all(&req).is_err() {
        return Vec::new();
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while got.len() < 29 {
        match t.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

#[test]
fn output_faults_on_the_wire() {
    let healthy = sim(&["coulombmeter", "--listen", "tcp://127.0.0.1:0"]);
    let r = raw_read(&healthy.listening, Duration::from_secs(10));
    assert_eq!(r.len(), 3 + 24 + 2, "{r:02X?}");
    assert_eq!(&r[..3], &[1, 4, 24]);
    assert!(rtu::verify(&r).is_ok());

    let bad = sim(&[
        "coulombmeter",
        "--listen",
        "tcp://127.0.0.1:0",
        "--fault",
        "bad-checksum",
    ]);
    let r = raw_read(&bad.listening, Duration::from_secs(10));
    assert_eq!(r.len(), 29, "{r:02X?}");
    assert_eq!(&r[..3], &[1, 4, 24], "only the CRC is broken");
    assert_eq!(rtu::verify(&r), Err(voltwire_modbus::Error::Checksum));

    let garbage = sim(&[
        "coulombmeter",
        "--listen",
        "tcp://127.0.0.1:0",
        "--fault",
        "garbage",
    ]);
    let r = raw_read(&garbage.listening, Duration::from_secs(10));
    assert_eq!(r.len(), 29, "{r:02X?}");
    assert!(rtu::verify(&r).is_err());

    let silent = sim(&[
        "coulombmeter",
        "--listen",
        "tcp://127.0.0.1:0",
        "--fault",
        "silent",
    ]);
    assert!(raw_read(&silent.listening, Duration::from_millis(500)).is_empty());

    let late = sim(&[
        "coulombmeter",
        "--listen",
        "tcp://127.0.0.1:0",
        "--fault",
        "late",
        "--delay-ms",
        "600",
    ]);
    // Not before the delay (a slow machine only makes it later)...
    assert!(raw_read(&late.listening, Duration::from_millis(300)).is_empty());
    // ...but eventually, whole and valid.
    let r = raw_read(&late.listening, Duration::from_secs(10));
    assert_eq!(r.len(), 29, "{r:02X?}");
    assert!(rtu::verify(&r).is_ok());

    let dropped = sim(&[
        "coulombmeter",
        "--listen",
        "tcp://127.0.0.1:0",
        "--fault",
        "drop",
    ]);
    assert!(raw_read(&dropped.listening, Duration::from_millis(500)).is_empty());
}

#[test]
fn address_errors_exit_2_and_name_the_flag() {
    for args in [
        &["lumentree", "--listen", "pty", "--address", "0"][..],
        &["coulombmeter", "--listen", "pty", "--address", "248"],
        &["daly", "--listen", "pty", "--address", "2"],
        &["meanwell-npb", "--listen", "slcan-pty", "--address", "2"],
        &["lumentree", "--listen", "pty", "--bitrate", "250000"],
        &["lumentree", "--listen", "pty", "--modules", "2"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_voltwire"))
            .arg("sim")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let flag = ["--modules", "--bitrate"]
            .into_iter()
            .find(|f| args.contains(f))
            .unwrap_or("--address");
        assert!(err.contains(flag), "{args:?}: {err}");
    }
}
