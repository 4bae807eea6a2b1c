//! The BIC-2200 device task against a simulated unit on an in-process CAN bus (tokio paused
//! clock): off first, EEPROM-write-disable set once and verified by read-back, the hardware
//! backstop, set points by direction, the EEPROM budget when the bit does not stick, off on
//! stop.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::panic
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use voltwire_core::{Milliamps, Millivolts, Watts};
use voltwire_meanwell::{Body, Command, Family, Message, Model, SystemConfig, Target, Value};
use voltwire_runtime::can::{BusUrl, CanBus as _, CanFrame, VirtualBuses};
use voltwire_zero_feed_in_rules::{DeviceCommand, DeviceStatus, WriteBudgetConfig};
use zero_feed_in::engine::Clock;
use zero_feed_in::meanwell::{Bic, Reports, run};

/// Every write the unit received, in order.
type Writes = Arc<Mutex<Vec<Value>>>;

/// A BIC-2200-48 (id 0) that stores what is written and answers reads. `keeps_bit_10`:
/// whether its firmware keeps the EEPROM-write-disable bit.
fn simulated_unit(virtuals: &VirtualBuses, keeps_bit_10: bool) -> Writes {
    simulated(virtuals, keeps_bit_10, Family::Bic2200)
}

fn simulated(virtuals: &VirtualBuses, keeps_bit_10: bool, family: Family) -> Writes {
    let mut node = virtuals.get("bic").node();
    let writes: Writes = Arc::default();
    let log = Arc::clone(&writes);
    tokio::spawn(async move {
        let mut regs: HashMap<Command, Value> = HashMap::new();
        regs.insert(
            Command::SYSTEM_CONFIG,
            Value::SystemConfig(SystemConfig(0x0001)),
        );
        while let Ok(f) = node.recv().await {
            let Ok(m) = Message::from_frame(&f) else {
                continue;
            };
            let reply = match m.body {
                Body::Write(v) => {
                    log.lock().unwrap().push(v);
                    let v = match v {
                        Value::SystemConfig(c) if !keeps_bit_10 => {
                            Value::SystemConfig(c.with_eeprom_write_disabled(false))
                        }
                        other => other,
                    };
                    regs.insert(v.command(), v);
                    None
                }
                Body::Read(Command::READ_VOUT) => Some(Value::Vout(Millivolts(52_000))),
                Body::Read(Command::READ_IOUT) => {
                    let on = matches!(regs.get(&Command::OPERATION), Some(Value::Operation(1)));
                    let i = match (on, regs.get(&Command::DIRECTION_CTRL)) {
                        (false, _) => 0,
                        (true, Some(Value::Direction(1))) => {
                            match regs.get(&Command::REVERSE_IOUT_SET) {
                                Some(Value::ReverseIoutSet(i)) => -i.0,
                                _ => 0,
                            }
                        }
                        (true, _) => match regs
                            .get(&Command::IOUT_SET)
                            .or_else(|| regs.get(&Command::CURVE_CC))
                        {
                            Some(Value::IoutSet(i) | Value::CurveCc(i)) => i.0,
                            _ => 0,
                        },
                    };
                    Some(Value::Iout(Milliamps(i)))
                }
                Body::Read(c) => regs.get(&c).copied(),
                Body::Reply(_) => None,
            };
            if let Some(v) = reply {
                let r = Message {
                    family,
                    target: Target::Device(0),
                    body: Body::Reply(v),
                };
                let _ = node.send(&r.to_frame::<CanFrame>().unwrap()).await;
            }
        }
    });
    writes
}

fn bic() -> Bic {
    Bic {
        model: Model::Bic2200_48,
        id: 0,
        bus: BusUrl::Virtual("bic".into()),
        backstop_vout: Millivolts(56_800),
        backstop_reverse_vout: Millivolts(46_400),
        budget: WriteBudgetConfig::default(),
        state_file: None,
    }
}

struct Dev {
    cmd: watch::Sender<DeviceCommand>,
    status: watch::Receiver<DeviceStatus>,
    task: tokio::task::JoinHandle<()>,
    writes: Writes,
}

fn start(keeps_bit_10: bool) -> Dev {
    let virtuals = VirtualBuses::default();
    let writes = simulated_unit(&virtuals, keeps_bit_10);
    let (cmd, cmd_rx) = watch::channel(DeviceCommand::OFF);
    let (status_tx, status) = watch::channel(DeviceStatus::default());
    let reports = Reports {
        status: status_tx,
        voltage: None,
    };
    let task = tokio::spawn(run(bic(), virtuals, Clock::start(1), cmd_rx, reports));
    Dev {
        cmd,
        status,
        task,
        writes,
    }
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not reached");
}

fn discharge(w: i32, ma: i32) -> DeviceCommand {
    DeviceCommand {
        power: Watts(-w),
        current: Some(Milliamps(ma)),
        voltage: None,
    }
}

#[tokio::test(start_paused = true)]
async fn off_first_ram_mode_backstop_set_points_and_off_on_stop() {
    let mut d = start(true);
    until("set-up written", || d.writes.lock().unwrap().len() >= 4).await;
    let setup: Vec<Value> = d.writes.lock().unwrap()[..4].to_vec();
    assert_eq!(
        setup,
        [
            Value::Operation(0),
            Value::SystemConfig(SystemConfig(
                SystemConfig::CAN_CONTROL | SystemConfig::EEPROM_WRITE_DISABLE
            )),
            Value::VoutSet(Millivolts(56_800)),
            Value::ReverseVoutSet(Millivolts(46_400)),
        ],
        "off, RAM set points (bit 10), then the backstop"
    );
    d.cmd.send_replace(discharge(500, 9_615));
    until("discharging", || {
        d.status.borrow().delivered.is_some_and(|w| w.0 < -400)
    })
    .await;
    assert_eq!(
        d.status.borrow_and_update().delivered,
        Some(Watts(-499)),
        "52 V × 9.61 A"
    );
    let w = d.writes.lock().unwrap()[4..].to_vec();
    assert_eq!(
        w,
        [
            Value::Direction(1),
            Value::ReverseIoutSet(Milliamps(9_610)),
            Value::Operation(1)
        ]
    );
    // In RAM mode every change is written at once.
    for ma in [9_000, 8_000, 7_000, 6_000, 5_000] {
        d.cmd.send_replace(discharge(ma * 52 / 1000, ma));
        let want = Value::ReverseIoutSet(Milliamps(ma));
        until("each set point", || {
            d.writes.lock().unwrap().last() == Some(&want)
        })
        .await;
    }
    // Stop: the sender goes away; the last write is off and the task ends.
    drop(d.cmd);
    tokio::time::timeout(Duration::from_secs(30), d.task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.writes.lock().unwrap().last(), Some(&Value::Operation(0)));
}

#[tokio::test(start_paused = true)]
async fn without_the_ram_bit_writes_are_rate_limited_but_off_always_passes() {
    let d = start(false);
    until("set-up written", || d.writes.lock().unwrap().len() >= 4).await;
    // The bit did not stick: EEPROM mode; the set-up writes spent the burst.
    let before = d.writes.lock().unwrap().len();
    for (n, ma) in [9_000, 8_000, 7_000, 6_000, 5_000, 4_000]
        .into_iter()
        .enumerate()
    {
        d.cmd.send_replace(discharge(ma * 52 / 1000, ma));
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = n;
    }
    let set_points = d.writes.lock().unwrap()[before..]
        .iter()
        .filter(|v| {
            matches!(
                v,
                Value::ReverseIoutSet(_) | Value::Direction(_) | Value::Operation(1)
            )
        })
        .count();
    // 12 s at 138 writes / h refill less than one write: nothing beyond what the bucket held.
    assert_eq!(set_points, 0, "{:?}", d.writes.lock().unwrap());
    // A minute later the bucket has refilled 2.3 writes: the unit gets Direction + set point.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let w = d.writes.lock().unwrap()[before..].to_vec();
    assert_eq!(
        w[..2],
        [Value::Direction(1), Value::ReverseIoutSet(Milliamps(4_000))],
        "{w:?}"
    );
    // The next refill lets the output on; a rate-limited write is retried, never lost.
    until("output on", || {
        d.writes.lock().unwrap()[before..].contains(&Value::Operation(1))
    })
    .await;
    // Off is never refused, even with the bucket empty.
    let n = d.writes.lock().unwrap().len();
    d.cmd.send_replace(DeviceCommand::OFF);
    until("off written", || {
        d.writes.lock().unwrap()[n..].contains(&Value::Operation(0))
    })
    .await;
    d.task.abort();
}

/// The unit's output now (battery convention, W at 52 V) from what was written to it.
fn output_w(writes: &Writes) -> i32 {
    let w = writes.lock().unwrap();
    let on = w.iter().rev().find_map(|v| match v {
        Value::Operation(o) => Some(*o == 1),
        _ => None,
    });
    let discharging = w.iter().rev().find_map(|v| match v {
        Value::Direction(d) => Some(*d == 1),
        _ => None,
    });
    let amps = w.iter().rev().find_map(|v| match v {
        Value::ReverseIoutSet(i) => Some(i.0),
        _ => None,
    });
    match (on, discharging, amps) {
        (Some(true), Some(true), Some(ma)) => -(ma * 52 / 1000),
        _ => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_regulates_a_bic_without_a_bms_on_its_own_voltage() {
    let broker = voltwire_testkit::Broker::start("zfi-bic");
    let url = broker.url();
    let virtuals = VirtualBuses::default();
    let writes = simulated_unit(&virtuals, true);
    let toml = format!(
        r#"
[control]
meter_timeout_s = 3
hold_s = 1
[meter]
kind = "mqtt"
broker = "{url}"
topic = "house/grid"
[battery]
source = "none"
cells = 16
charge_voltage_v = 55.2
restart_voltage_v = 53.6
[[device]]
kind = "bic2200"
bus = "virtual://bic"
model = "BIC-2200-48"
max_charge_w = 2000
max_discharge_w = 2000
"#
    );
    let settings =
        zero_feed_in::config::File::parse(&toml, std::path::Path::new("t.toml")).unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = tokio::spawn(zero_feed_in::app::run_with(settings, virtuals, async {
        stop_rx.await.unwrap_or(());
    }));
    // The house draws 600 W; the meter shows that plus the unit's (negative) output.
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let mut o = rumqttc::MqttOptions::new("zfi-bic-meter", "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(5));
    let (client, mut ev) = rumqttc::AsyncClient::new(o, 64);
    tokio::spawn(async move {
        loop {
            if ev.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let meter_writes = Arc::clone(&writes);
    let meter = tokio::spawn(async move {
        loop {
            let grid = 600 + output_w(&meter_writes);
            let _ = client
                .publish(
                    "house/grid",
                    rumqttc::QoS::AtMostOnce,
                    false,
                    grid.to_string(),
                )
                .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    for _ in 0..600 {
        if output_w(&writes) <= -585 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = output_w(&writes);
    assert!(
        (-600..=-585).contains(&out),
        "discharging about 600 W, got {out}; writes {:?}",
        writes.lock().unwrap()
    );
    assert!(
        writes
            .lock()
            .unwrap()
            .contains(&Value::VoutSet(Millivolts(56_800))),
        "backstop written"
    );
    stop_tx.send(()).unwrap();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(30), app)
            .await
            .unwrap()
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        writes.lock().unwrap().last(),
        Some(&Value::Operation(0)),
        "off on stop"
    );
    meter.abort();
}

#[tokio::test(start_paused = true)]
async fn the_lifetime_count_is_persisted_and_refuses_set_points_at_the_rated_limit() {
    let dir = voltwire_testkit::scratch_dir("zfi-eeprom");
    let file = dir.join("bic0.writes");
    std::fs::write(&file, "999998\n").unwrap();
    let virtuals = VirtualBuses::default();
    let writes = simulated_unit(&virtuals, false);
    let (cmd, cmd_rx) = watch::channel(DeviceCommand::OFF);
    let (status_tx, _status) = watch::channel(DeviceStatus::default());
    let mut b = bic();
    b.state_file = Some(file.clone());
    let task = tokio::spawn(run(
        b,
        virtuals,
        Clock::start(1),
        cmd_rx,
        Reports {
            status: status_tx,
            voltage: None,
        },
    ));
    until("set-up written", || writes.lock().unwrap().len() >= 4).await;
    // Off, SYSTEM_CONFIG and the two backstop values were counted: 999 998 + 4.
    until("count saved", || {
        std::fs::read_to_string(&file).unwrap().trim() == "1000002"
    })
    .await;
    cmd.send_replace(discharge(500, 9_610));
    tokio::time::sleep(Duration::from_secs(300)).await;
    let after_setup: Vec<Value> = writes.lock().unwrap()[4..].to_vec();
    assert!(
        after_setup.is_empty(),
        "no set point above the rated writes: {after_setup:?}"
    );
    task.abort();

    // A count that cannot be read: the unit is never written to.
    std::fs::write(&file, "garbage").unwrap();
    let virtuals = VirtualBuses::default();
    let writes = simulated_unit(&virtuals, true);
    let (_cmd, cmd_rx) = watch::channel(DeviceCommand::OFF);
    let (status_tx, _status) = watch::channel(DeviceStatus::default());
    let mut b = bic();
    b.state_file = Some(file);
    let task = tokio::spawn(run(
        b,
        virtuals,
        Clock::start(1),
        cmd_rx,
        Reports {
            status: status_tx,
            voltage: None,
        },
    ));
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap();
    assert!(writes.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_npb_charges_through_its_curve_and_never_discharges() {
    let virtuals = VirtualBuses::default();
    let writes = simulated(&virtuals, true, Family::Npb);
    let (cmd, cmd_rx) = watch::channel(DeviceCommand::OFF);
    let (status_tx, status) = watch::channel(DeviceStatus::default());
    let mut b = bic();
    b.model = Model::Npb1200_48;
    let task = tokio::spawn(run(
        b,
        virtuals,
        Clock::start(1),
        cmd_rx,
        Reports {
            status: status_tx,
            voltage: None,
        },
    ));
    until("set-up written", || writes.lock().unwrap().len() >= 3).await;
    assert_eq!(
        writes.lock().unwrap()[..3],
        [
            Value::Operation(0),
            Value::SystemConfig(SystemConfig(
                SystemConfig::CAN_CONTROL | SystemConfig::EEPROM_WRITE_DISABLE
            )),
            Value::CurveCv(Millivolts(56_800)),
        ],
        "off, RAM bit, the charge voltage backstop (no discharge cut-off on a charger)"
    );
    cmd.send_replace(DeviceCommand {
        power: Watts(520),
        current: Some(Milliamps(10_000)),
        voltage: None,
    });
    until("charging", || status.borrow().delivered == Some(Watts(520))).await;
    assert_eq!(
        writes.lock().unwrap()[3..],
        [Value::CurveCc(Milliamps(10_000)), Value::Operation(1)]
    );
    // A discharge command cannot be carried out by a charger: off.
    cmd.send_replace(discharge(300, 6_000));
    until("off", || {
        writes.lock().unwrap().last() == Some(&Value::Operation(0))
    })
    .await;
    assert!(
        !writes
            .lock()
            .unwrap()
            .iter()
            .any(|v| matches!(v, Value::Direction(_) | Value::ReverseIoutSet(_)))
    );
    drop(cmd);
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap();
}

fn trim(power: i32, ma: i32, mv: Option<i32>) -> DeviceCommand {
    DeviceCommand {
        power: Watts(power),
        current: Some(Milliamps(ma)),
        voltage: mv.map(Millivolts),
    }
}

/// An NPB-1200-48 task on the simulated unit; `keeps_bit_10`: RAM mode.
fn start_npb(keeps_bit_10: bool) -> Dev {
    let virtuals = VirtualBuses::default();
    let writes = simulated(&virtuals, keeps_bit_10, Family::Npb);
    let (cmd, cmd_rx) = watch::channel(DeviceCommand::OFF);
    let (status_tx, status) = watch::channel(DeviceStatus::default());
    let mut b = bic();
    b.model = Model::Npb1200_48;
    let reports = Reports {
        status: status_tx,
        voltage: None,
    };
    let task = tokio::spawn(run(b, virtuals, Clock::start(1), cmd_rx, reports));
    Dev {
        cmd,
        status,
        task,
        writes,
    }
}

#[tokio::test(start_paused = true)]
async fn an_npb_in_voltage_trim_writes_its_cv_first_and_restores_the_backstop() {
    let d = start_npb(true);
    let writes = &d.writes;
    until("set-up written", || writes.lock().unwrap().len() >= 3).await;
    let since = |n: usize| writes.lock().unwrap()[n..].to_vec();
    // Into trim: the voltage just above the battery, then the minimum current, then on.
    d.cmd.send_replace(trim(60, 3600, Some(52_410)));
    until("on", || writes.lock().unwrap().len() >= 6).await;
    assert_eq!(
        since(3),
        [
            Value::CurveCv(Millivolts(52_410)),
            Value::CurveCc(Milliamps(3600)),
            Value::Operation(1)
        ]
    );
    // A trim step: the voltage only.
    d.cmd.send_replace(trim(60, 3600, Some(52_420)));
    until("step", || writes.lock().unwrap().len() >= 7).await;
    assert_eq!(since(6), [Value::CurveCv(Millivolts(52_420))]);
    // Out of trim to a current above the minimum: the backstop back first, then the current.
    d.cmd.send_replace(trim(400, 7630, None));
    until("normal", || writes.lock().unwrap().len() >= 9).await;
    assert_eq!(
        since(7),
        [
            Value::CurveCv(Millivolts(56_800)),
            Value::CurveCc(Milliamps(7630))
        ]
    );
    // A voltage above the backstop (never sent by the rules) is capped at it: nothing new.
    d.cmd.send_replace(trim(60, 3600, Some(57_000)));
    until("capped", || writes.lock().unwrap().len() >= 10).await;
    assert_eq!(since(9), [Value::CurveCc(Milliamps(3600))]);
    // Into trim again, then off (a latch): off only; the trimmed CV stays below the backstop.
    d.cmd.send_replace(trim(60, 3600, Some(52_410)));
    until("trim", || writes.lock().unwrap().len() >= 11).await;
    d.cmd.send_replace(DeviceCommand::OFF);
    until("off", || writes.lock().unwrap().len() >= 12).await;
    assert_eq!(
        since(10),
        [Value::CurveCv(Millivolts(52_410)), Value::Operation(0)]
    );
    assert!(d.status.borrow().last_seen.is_some());
    drop(d.cmd);
    tokio::time::timeout(Duration::from_secs(30), d.task)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !writes
            .lock()
            .unwrap()
            .iter()
            .any(|v| matches!(v, Value::CurveCv(mv) if mv.0 > 56_800)),
        "never above the backstop"
    );
}

#[tokio::test(start_paused = true)]
async fn without_the_ram_bit_trim_steps_go_through_the_write_budget() {
    let d = start_npb(false);
    let writes = &d.writes;
    // Off, the RAM bit (not kept), the backstop.
    until("set-up written", || writes.lock().unwrap().len() >= 3).await;
    let setup = writes.lock().unwrap().len();
    // A controller asking for a new trim voltage every second for two minutes.
    for s in 0..120 {
        let mv = if s % 2 == 0 { 52_410 } else { 52_420 };
        d.cmd.send_replace(trim(60, 3600, Some(mv)));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let after: Vec<Value> = writes.lock().unwrap()[setup..].to_vec();
    // The set-up's safety writes emptied the bucket: 138 per hour refill → at most 4 in
    // 120 s (one per 26.1 s), each a trim voltage or the minimum current or on.
    assert!(
        (1..=5).contains(&after.len()),
        "{} writes: {after:?}",
        after.len()
    );
    assert_eq!(after[0], Value::CurveCv(Millivolts(52_410)), "{after:?}");
    assert!(after.iter().all(|v| matches!(
        v,
        Value::CurveCv(Millivolts(52_410 | 52_420))
            | Value::CurveCc(Milliamps(3600))
            | Value::Operation(1)
    )));
    drop(d.cmd);
    tokio::time::timeout(Duration::from_secs(30), d.task)
        .await
        .unwrap()
        .unwrap();
}
