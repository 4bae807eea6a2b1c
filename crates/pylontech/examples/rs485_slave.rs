//! A simulated two-module Pylontech stack on a serial line (the slave role), for interop tests.
//!
//! ```sh
//! cargo run -p voltwire-pylontech --example rs485_slave -- /tmp/x/ttyA
//! ```
//!
//! Reads requests from the path given as the first argument (a tty or pty, opened with plain
//! std file I/O; set the line to raw mode beforehand, as socat's `raw,echo=0` does) and
//! answers 0x42/0x44 (one module or all), 0x47, 0x4F, 0x51, 0x60–0x63, 0x92 and 0x93 from
//! fixed values (listed in `interop/pylontech/README.md`). Modules sit at addresses 2
//! (master) and 3; 0x4F/0x51 are answered at any address; other commands get RTN 0x04.
//! Every frame written is logged to stderr.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    missing_docs,
    reason = "example binary"
)]

use std::io::{Read as _, Write as _};

use heapless::Vec as HVec;
use voltwire_core::{
    DeciKelvin, Emit as _, MilliampHours, Milliamps, Millivolts, ScanDecoder, StreamDecoder as _,
};
use voltwire_pylontech::rs485::{
    AlarmReply, AnalogReply, ChargeManagement, DischargeSign, Frame, ManagementStatus,
    ManufacturerInfo, ModuleAlarm, ModuleAnalog, Request, RequestBody, Requests, Response,
    ResponseBody, Rtn, SerialNumber, SystemAlarm, SystemAnalog, SystemInfo, SystemParameters,
    Target,
};

const ADDRESSES: [u8; 2] = [2, 3];

/// Module `adr` of the simulated stack: 15 cells of 3300 + 2·i (+10 on module 3) mV,
/// temperatures 25.0 / 24.0 / 24.5 / 25.5 / 26.0 °C, −2.6 A (module 3: +1.5 A).
fn module(adr: u8) -> ModuleAnalog {
    let base = if adr == 2 { 3300 } else { 3310 };
    let mut m = ModuleAnalog::default();
    for i in 0..15 {
        m.cells.push(Millivolts(base + 2 * i)).unwrap();
    }
    for t in [2981, 2971, 2976, 2986, 2991] {
        m.temperatures.push(DeciKelvin(t)).unwrap();
    }
    m.voltage = Millivolts(m.cells.iter().map(|c| c.0).sum());
    if adr == 2 {
        m.current = Milliamps(-2600);
        m.remaining_capacity = MilliampHours(0xFFFF);
        m.user_defined = 4;
        m.full_capacity = MilliampHours(0xFFFF);
        m.cycles = 31;
        m.extension = Some((MilliampHours(74_000), MilliampHours(100_000)));
    } else {
        m.current = Milliamps(1500);
        m.remaining_capacity = MilliampHours(33_500);
        m.user_defined = 2;
        m.full_capacity = MilliampHours(50_000);
        m.cycles = 7;
    }
    m
}

fn alarm(adr: u8) -> ModuleAlarm {
    let mut a = ModuleAlarm::default();
    for _ in 0..15 {
        a.cells.push(0).unwrap();
    }
    for _ in 0..5 {
        a.temperatures.push(0).unwrap();
    }
    // Status 2: charge + discharge FET on (0x06) and, on module 3, using battery power.
    a.state = [0, if adr == 2 { 0x06 } else { 0x0E }, 0, 0, 0];
    a
}

fn management() -> ChargeManagement {
    ChargeManagement::new(
        Millivolts(53_250),
        Millivolts(45_000),
        Milliamps(50_000),
        Milliamps(75_000),
        DischargeSign::Negative,
        ManagementStatus(ManagementStatus::CHARGE_ENABLE | ManagementStatus::DISCHARGE_ENABLE),
    )
}

fn serial(adr: u8) -> [u8; 16] {
    let mut s = *b"VWSIM00000000000";
    s[15] = b'0' + adr;
    s
}

fn analog_reply(command: u8, modules: &[u8]) -> AnalogReply {
    let mut r = AnalogReply::new(0x11, command);
    for &a in modules {
        r.modules.push(module(a)).unwrap();
    }
    r
}

fn alarm_reply(command: u8, modules: &[u8]) -> AlarmReply {
    let mut r = AlarmReply {
        info_flag: 0x00,
        command,
        ..AlarmReply::default()
    };
    for &a in modules {
        r.modules.push(alarm(a)).unwrap();
    }
    r
}

fn system_analog() -> SystemAnalog {
    SystemAnalog {
        voltage: Millivolts(49_905),
        current: Milliamps(-1_100),
        soc_percent: 72,
        average_cycles: 19,
        max_cycles: 31,
        average_soh_percent: 99,
        min_soh_percent: 98,
        max_cell_voltage: Millivolts(3338),
        max_cell_voltage_id: 0x030F,
        min_cell_voltage: Millivolts(3300),
        min_cell_voltage_id: 0x0201,
        average_cell_temperature: DeciKelvin(2981),
        max_cell_temperature: DeciKelvin(2991),
        max_cell_temperature_id: 0x0205,
        min_cell_temperature: DeciKelvin(2971),
        min_cell_temperature_id: 0x0202,
        average_mosfet_temperature: DeciKelvin(2986),
        max_mosfet_temperature: DeciKelvin(2991),
        max_mosfet_temperature_id: 0x0301,
        min_mosfet_temperature: DeciKelvin(2981),
        min_mosfet_temperature_id: 0x0201,
        average_bms_temperature: DeciKelvin(2981),
        max_bms_temperature: DeciKelvin(2986),
        max_bms_temperature_id: 0x0301,
        min_bms_temperature: DeciKelvin(2976),
        min_bms_temperature_id: 0x0201,
    }
}

/// The answer to one request, or `None` to stay silent.
fn answer(req: &Request) -> Option<Response> {
    let adr = req.adr;
    let ours = ADDRESSES.contains(&adr);
    let body = match &req.body {
        RequestBody::ProtocolVersion => ResponseBody::ProtocolVersion,
        RequestBody::Manufacturer => ResponseBody::Manufacturer(
            ManufacturerInfo::new("US2000C", [0x01, 0x02], "PYLON").unwrap(),
        ),
        _ if !ours => return None,
        RequestBody::Analog(Target::All) if adr == 2 => {
            ResponseBody::Analog(analog_reply(2, &ADDRESSES))
        }
        RequestBody::Analog(Target::Module(a)) if *a == adr => {
            ResponseBody::Analog(analog_reply(adr, &[adr]))
        }
        RequestBody::Alarm(Target::All) if adr == 2 => {
            ResponseBody::Alarm(alarm_reply(2, &ADDRESSES))
        }
        RequestBody::Alarm(Target::Module(a)) if *a == adr => {
            ResponseBody::Alarm(alarm_reply(adr, &[adr]))
        }
        RequestBody::SystemParameters(_) => ResponseBody::SystemParameters(SystemParameters {
            info_flag: 0x11,
            cell_high_voltage: Millivolts(3650),
            cell_low_voltage: Millivolts(3050),
            cell_under_voltage: Millivolts(2800),
            charge_high_temperature: DeciKelvin(3331),
            charge_low_temperature: DeciKelvin(2631),
            charge_current_limit: Milliamps(100_000),
            module_high_voltage: Millivolts(54_000),
            module_low_voltage: Millivolts(46_000),
            module_under_voltage: Millivolts(43_000),
            discharge_high_temperature: DeciKelvin(3331),
            discharge_low_temperature: DeciKelvin(2631),
            discharge_current_limit: Milliamps(-100_000),
        }),
        RequestBody::SystemInfo if adr == 2 => {
            let mut s = SystemInfo {
                device_name: *b"US2000C\0\0\0",
                manufacturer: *b"PYLON\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
                software_version: [0x01, 0x02],
                module_count: 2,
                serials: HVec::new(),
            };
            // As the real capture: only the master's serial.
            s.serials.push(serial(2)).unwrap();
            ResponseBody::SystemInfo(s)
        }
        RequestBody::SystemAnalog if adr == 2 => ResponseBody::SystemAnalog(system_analog()),
        RequestBody::SystemAlarm if adr == 2 => ResponseBody::SystemAlarm(SystemAlarm::default()),
        RequestBody::SystemManagement if adr == 2 => ResponseBody::SystemManagement(management()),
        RequestBody::Management(a) if *a == adr => ResponseBody::Management {
            command: adr,
            management: management(),
        },
        RequestBody::Serial(a) if a.is_none_or(|a| a == adr) => {
            ResponseBody::Serial(SerialNumber {
                command: adr,
                serial: serial(adr),
            })
        }
        _ => {
            let mut r = Response::ok(
                adr,
                ResponseBody::Undecoded {
                    command: req.command(),
                    info: voltwire_pylontech::rs485::Info::new(),
                },
            );
            r.rtn = Rtn::InvalidCid2;
            return Some(r);
        }
    };
    Some(Response::ok(adr, body))
}

fn write_frame(port: &mut std::fs::File, frame: &Frame) {
    let mut buf = vec![0u8; frame.buffer_len()];
    let n = frame.emit(&mut buf).unwrap();
    port.write_all(&buf[..n]).unwrap();
    port.flush().unwrap();
    eprintln!(
        "rs485_slave: sent {}",
        String::from_utf8_lossy(&buf[..n]).trim_end()
    );
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: rs485_slave <serial path>");
    let mut port = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .expect("open serial path");
    let mut decoder = ScanDecoder::<Requests, { voltwire_asciihex::MAX_FRAME_LEN }>::new();
    let mut buf = [0u8; 512];
    loop {
        let n = match port.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("rs485_slave: read error: {e}");
                break;
            }
        };
        let mut replies = Vec::new();
        decoder.feed_all(&buf[..n], |item| match item.value {
            Ok(req) => {
                eprintln!("rs485_slave: request {req:?}");
                if let Some(resp) = answer(&req) {
                    debug_assert!(resp.answers(&req) || !resp.rtn.is_ok());
                    replies.push(resp.to_frame().expect("simulated values fit"));
                }
            }
            Err(e) => eprintln!("rs485_slave: bad frame at {}: {e}", item.offset),
        });
        for f in &replies {
            write_frame(&mut port, f);
        }
    }
}
