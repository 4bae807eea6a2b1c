//! Pylontech RS485 properties, both roles: every request and every response encodes to a
//! frame that decodes back to it; INFO decoding is total on arbitrary bytes; a response
//! always answers the request it was built for.

use heapless::Vec as HVec;

#[path = "support/blocks.rs"]
mod blocks;

use blocks::{ma, mv};

use proptest::prelude::*;
use voltwire_core::{DeciKelvin, MilliampHours, Milliamps, Millivolts};
use voltwire_pylontech::rs485::{
    AnalogReply, ChargeManagement, DischargeSign, Frame, ManagementStatus, ModuleAnalog, Pylontech,
    Request, RequestBody, Response, ResponseBody, SerialNumber, SystemAlarm, SystemAnalog,
    SystemInfo, SystemParameters, Target,
};

fn dk() -> impl Strategy<Value = DeciKelvin> {
    any::<u16>().prop_map(|v| DeciKelvin(i32::from(v)))
}
fn target() -> impl Strategy<Value = Target> {
    prop_oneof![Just(Target::All), (0u8..0xFF).prop_map(Target::Module)]
}

fn module() -> impl Strategy<Value = ModuleAnalog> {
    let cap2 = (0u32..1 << 24, 0u32..1 << 24)
        .prop_map(|(r, t)| (MilliampHours(i64::from(r)), MilliampHours(i64::from(t))));
    blocks::analog::<Pylontech>(cap2)
}

fn management() -> impl Strategy<Value = ChargeManagement> {
    (mv(), mv(), ma(100), ma(100), any::<u8>()).prop_map(|(a, b, c, d, s)| ChargeManagement {
        charge_voltage_limit: a,
        discharge_voltage_limit: b,
        charge_current_limit: c,
        discharge_current_limit: d,
        status: s.into(),
    })
}

#[allow(
    clippy::unwrap_used,
    reason = "proptest strategy: every INFO it builds fits"
)]
fn request_body() -> impl Strategy<Value = RequestBody> {
    prop_oneof![
        Just(RequestBody::ProtocolVersion),
        Just(RequestBody::Manufacturer),
        target().prop_map(RequestBody::Analog),
        target().prop_map(RequestBody::Alarm),
        any::<Option<u8>>().prop_map(RequestBody::SystemParameters),
        Just(RequestBody::SystemInfo),
        Just(RequestBody::SystemAnalog),
        Just(RequestBody::SystemAlarm),
        Just(RequestBody::SystemManagement),
        any::<u8>().prop_map(RequestBody::Management),
        any::<Option<u8>>().prop_map(RequestBody::Serial),
        (any::<u8>(), proptest::collection::vec(any::<u8>(), 2..20)).prop_map(|(c, i)| {
            // Two or more INFO bytes never fit a known request shape.
            RequestBody::Other {
                cid2: c,
                info: HVec::from_slice(&i).unwrap(),
            }
        }),
    ]
}

#[allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    reason = "proptest strategy: one arm per response; every list it builds fits"
)]
fn response_body() -> impl Strategy<Value = ResponseBody> {
    prop_oneof![
        Just(ResponseBody::ProtocolVersion),
        blocks::manufacturer().prop_map(ResponseBody::Manufacturer),
        blocks::reply(module()).prop_map(ResponseBody::Analog),
        blocks::reply(blocks::status::<Pylontech>(any::<[u8; 5]>())).prop_map(ResponseBody::Alarm),
        (
            any::<u8>(),
            mv(),
            mv(),
            mv(),
            dk(),
            dk(),
            ma(100),
            (mv(), mv(), mv(), dk(), dk(), ma(100))
        )
            .prop_map(|(f, a, b, c, d, e, g, (h, i, j, k, l, m))| {
                ResponseBody::SystemParameters(SystemParameters {
                    info_flag: f,
                    cell_high_voltage: a,
                    cell_low_voltage: b,
                    cell_under_voltage: c,
                    charge_high_temperature: d,
                    charge_low_temperature: e,
                    charge_current_limit: g,
                    module_high_voltage: h,
                    module_low_voltage: i,
                    module_under_voltage: j,
                    discharge_high_temperature: k,
                    discharge_low_temperature: l,
                    discharge_current_limit: m,
                })
            }),
        (
            any::<[u8; 10]>(),
            any::<[u8; 20]>(),
            any::<[u8; 2]>(),
            any::<u8>(),
            proptest::collection::vec(any::<[u8; 16]>(), 0..4)
        )
            .prop_map(
                |(d, m, s, n, serials)| ResponseBody::SystemInfo(SystemInfo {
                    device_name: d,
                    manufacturer: m,
                    software_version: s,
                    module_count: n,
                    serials: HVec::from_slice(&serials).unwrap(),
                })
            ),
        (
            mv(),
            ma(10),
            any::<[u8; 5]>(),
            (mv(), any::<u16>(), mv(), any::<u16>()),
            (dk(), dk(), any::<u16>(), dk(), any::<u16>()),
            (dk(), dk(), any::<u16>(), dk(), any::<u16>()),
            (dk(), dk(), any::<u16>(), dk(), any::<u16>()),
            (any::<u16>(), any::<u16>())
        )
            .prop_map(|(v, c, b, (a1, a2, a3, a4), ct, mt, bt, (ac, mc))| {
                ResponseBody::SystemAnalog(SystemAnalog {
                    voltage: v,
                    current: c,
                    soc_percent: b[0],
                    average_cycles: ac,
                    max_cycles: mc,
                    average_soh_percent: b[1],
                    min_soh_percent: b[2],
                    max_cell_voltage: a1,
                    max_cell_voltage_id: a2,
                    min_cell_voltage: a3,
                    min_cell_voltage_id: a4,
                    average_cell_temperature: ct.0,
                    max_cell_temperature: ct.1,
                    max_cell_temperature_id: ct.2,
                    min_cell_temperature: ct.3,
                    min_cell_temperature_id: ct.4,
                    average_mosfet_temperature: mt.0,
                    max_mosfet_temperature: mt.1,
                    max_mosfet_temperature_id: mt.2,
                    min_mosfet_temperature: mt.3,
                    min_mosfet_temperature_id: mt.4,
                    average_bms_temperature: bt.0,
                    max_bms_temperature: bt.1,
                    max_bms_temperature_id: bt.2,
                    min_bms_temperature: bt.3,
                    min_bms_temperature_id: bt.4,
                })
            }),
        any::<[u8; 4]>().prop_map(|b| ResponseBody::SystemAlarm(SystemAlarm {
            warning_1: b[0],
            warning_2: b[1],
            protection_1: b[2],
            protection_2: b[3],
        })),
        management().prop_map(ResponseBody::SystemManagement),
        (any::<u8>(), management()).prop_map(|(c, m)| ResponseBody::Management {
            command: c,
            management: m
        }),
        (any::<u8>(), any::<[u8; 16]>()).prop_map(|(c, s)| ResponseBody::Serial(SerialNumber {
            command: c,
            serial: s
        })),
    ]
}

blocks::round_trip_properties!(request_body(), response_body());

proptest! {
    #[test]
    fn info_decoding_is_total_and_lossless(cid2 in any::<u8>(), info in proptest::collection::vec(any::<u8>(), 0..200)) {
        let f = Frame::new(0x20, 2, 0x46, 0, &info).unwrap();
        let r = Response::from_frame(&f, cid2);
        prop_assert_eq!(r.to_frame().unwrap(), f.clone());
        let q = Request::from_frame(&Frame::new(0x20, 2, 0x46, cid2, &info).unwrap());
        prop_assert_eq!(q.to_frame().unwrap().info, f.info);
    }

    #[test]
    fn discharge_sign_is_explicit(limit in 0i32..3_000_000, neg in any::<bool>()) {
        let sign = if neg { DischargeSign::Negative } else { DischargeSign::Positive };
        let m = ChargeManagement::new(Millivolts(1), Millivolts(1), Milliamps(0), Milliamps(limit), sign, ManagementStatus(0));
        prop_assert_eq!(m.discharge_current_magnitude(), Milliamps(limit));
        prop_assert_eq!(m.discharge_current_limit.0, if neg { -limit } else { limit });
    }
}

#[test]
fn sign_choice_on_the_wire() {
    // 120.0 A: negative is 0xFB50 (kitor, every real 0x92), positive 0x04B0 (Battery-Emulator).
    for (sign, hex) in [
        (DischargeSign::Negative, [0xFB, 0x50]),
        (DischargeSign::Positive, [0x04, 0xB0]),
    ] {
        let m = ChargeManagement::new(
            Millivolts(27_350),
            Millivolts(24_000),
            Milliamps(120_000),
            Milliamps(120_000),
            sign,
            ManagementStatus(0xC0),
        );
        let f = Response::ok(2, ResponseBody::SystemManagement(m))
            .to_frame()
            .unwrap();
        assert_eq!(&f.info[6..8], &hex);
    }
    // A current that is not a multiple of 100 mA cannot be sent exactly.
    let m = ChargeManagement::new(
        Millivolts(1),
        Millivolts(1),
        Milliamps(150),
        Milliamps(0),
        DischargeSign::Negative,
        ManagementStatus(0),
    );
    assert!(
        Response::ok(2, ResponseBody::SystemManagement(m))
            .to_frame()
            .is_err()
    );
}

#[test]
fn answers_checks_address_command_and_module() {
    let req = Request::new(2, RequestBody::Analog(Target::Module(2)));
    let mut reply = AnalogReply::new(0x11, 2);
    reply.modules.push(ModuleAnalog::default()).unwrap();
    let resp = Response::ok(2, ResponseBody::Analog(reply.clone()));
    assert!(resp.answers(&req));
    assert!(!Response::ok(3, ResponseBody::Analog(reply.clone())).answers(&req));
    assert!(!resp.answers(&Request::new(2, RequestBody::Analog(Target::Module(3)))));
    assert!(!resp.answers(&Request::new(2, RequestBody::Alarm(Target::Module(2)))));
    // After 0xFF a count byte matching the modules present answers.
    let all = Request::new(2, RequestBody::Analog(Target::All));
    reply.command = 1;
    assert!(Response::ok(2, ResponseBody::Analog(reply)).answers(&all));
}
