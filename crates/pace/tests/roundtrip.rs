//! Pace v25 properties, both directions: every request and response encodes to a frame
//! that decodes back to it; decoding is total and lossless on arbitrary INFO; a stream of
//! requests with marker-free noise decodes the same in any chunking.

use heapless::Vec as HVec;

#[path = "support/blocks.rs"]
mod blocks;

use blocks::{ma, mv};

use proptest::prelude::*;
use voltwire_core::{MilliampHours, Milliamps, ScanDecoder, StreamDecoder as _};
use voltwire_pace::{
    AnalogReply, BalanceConfig, Capacity, ConfigRead, CurrentProtection, DateTime, Frame,
    FullChargeConfig, MosfetSwitch, Pace, PackAnalog, PackState, PackStatus, Request, RequestBody,
    Requests, Response, ResponseBody, StatusReply, SystemParameters, Target, VoltageKind,
    VoltageProtection,
};

fn mah10() -> impl Strategy<Value = MilliampHours> {
    any::<u16>().prop_map(|v| MilliampHours(i64::from(v) * 10))
}
fn kind() -> impl Strategy<Value = VoltageKind> {
    prop::sample::select(VoltageKind::ALL.to_vec())
}
fn target() -> impl Strategy<Value = Target> {
    prop_oneof![Just(Target::All), (0u8..0xFF).prop_map(Target::Pack)]
}
fn switch() -> impl Strategy<Value = MosfetSwitch> {
    any::<u8>().prop_map(MosfetSwitch::from_byte)
}
fn voltage() -> impl Strategy<Value = VoltageProtection> {
    (any::<u8>(), mv(), mv(), mv(), any::<u8>()).prop_map(|(l, a, p, r, d)| VoltageProtection {
        lead: l,
        alarm: a,
        protect: p,
        release: r,
        delay_100ms: d,
    })
}
fn current() -> impl Strategy<Value = CurrentProtection> {
    (any::<u8>(), ma(1000), ma(1000), any::<u8>()).prop_map(|(l, a, p, d)| CurrentProtection {
        lead: l,
        alarm: a,
        protect: p,
        delay_100ms: d,
    })
}
fn balance() -> impl Strategy<Value = BalanceConfig> {
    (mv(), mv()).prop_map(|(threshold, delta)| BalanceConfig { threshold, delta })
}
fn full() -> impl Strategy<Value = FullChargeConfig> {
    (mv(), any::<u16>(), any::<u8>()).prop_map(|(v, c, s)| FullChargeConfig {
        voltage: v,
        current: Milliamps(i32::from(c)),
        low_soc_percent: s,
    })
}
fn date() -> impl Strategy<Value = DateTime> {
    any::<[u8; 6]>().prop_map(|b| DateTime {
        year_since_2000: b[0],
        month: b[1],
        day: b[2],
        hour: b[3],
        minute: b[4],
        second: b[5],
    })
}
fn config_read() -> impl Strategy<Value = ConfigRead> {
    prop_oneof![
        kind().prop_map(ConfigRead::Voltage),
        Just(ConfigRead::ChargeOverCurrent),
        Just(ConfigRead::DischargeOverCurrent),
        Just(ConfigRead::Balancing),
        Just(ConfigRead::FullCharge),
    ]
}

#[allow(
    clippy::unwrap_used,
    reason = "proptest strategy: every INFO it builds fits"
)]
fn request_body() -> impl Strategy<Value = RequestBody> {
    prop_oneof![
        target().prop_map(RequestBody::Analog),
        target().prop_map(RequestBody::Status),
        Just(RequestBody::SystemParameters),
        Just(RequestBody::ProtocolVersion),
        Just(RequestBody::Manufacturer),
        Just(RequestBody::PackCount),
        Just(RequestBody::SoftwareVersion),
        Just(RequestBody::ProductInfo),
        Just(RequestBody::Capacity),
        Just(RequestBody::ReadDateTime),
        date().prop_map(RequestBody::WriteDateTime),
        switch().prop_map(RequestBody::ChargeMosfet),
        switch().prop_map(RequestBody::DischargeMosfet),
        any::<u8>().prop_map(RequestBody::Shutdown),
        any::<u8>().prop_map(RequestBody::Switch),
        config_read().prop_map(RequestBody::ReadConfig),
        (kind(), voltage()).prop_map(|(k, v)| RequestBody::WriteVoltage(k, v)),
        current().prop_map(RequestBody::WriteChargeOverCurrent),
        current().prop_map(RequestBody::WriteDischargeOverCurrent),
        balance().prop_map(RequestBody::WriteBalancing),
        full().prop_map(RequestBody::WriteFullCharge),
        // kitor's 2-byte MOSFET INFO stays `Other` and survives.
        any::<u8>().prop_map(|b| RequestBody::Other {
            cid2: 0x9A,
            info: HVec::from_slice(&[0, b]).unwrap()
        }),
    ]
}

fn pack() -> impl Strategy<Value = PackAnalog> {
    blocks::analog::<Pace>(mah10())
}

fn status_pack() -> impl Strategy<Value = PackStatus> {
    blocks::status::<Pace>(any::<[u8; 9]>().prop_map(|b| PackState {
        protect_1: b[0].into(),
        protect_2: b[1].into(),
        system: b[2].into(),
        control: b[3].into(),
        fault: b[4].into(),
        balance_1: b[5],
        balance_2: b[6],
        warn_1: b[7].into(),
        warn_2: b[8].into(),
    }))
}

#[allow(
    clippy::unwrap_used,
    reason = "proptest strategy: every INFO it builds fits"
)]
fn response_body() -> impl Strategy<Value = ResponseBody> {
    prop_oneof![
        blocks::reply(pack()).prop_map(ResponseBody::Analog),
        blocks::reply(status_pack()).prop_map(ResponseBody::Status),
        (any::<u8>(), any::<[u16; 12]>()).prop_map(|(f, v)| ResponseBody::SystemParameters(
            SystemParameters {
                info_flag: f,
                values: v
            }
        )),
        Just(ResponseBody::ProtocolVersion),
        blocks::manufacturer().prop_map(ResponseBody::Manufacturer),
        any::<u8>().prop_map(ResponseBody::PackCount),
        any::<[u8; 20]>().prop_map(ResponseBody::SoftwareVersion),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 20),
            proptest::collection::vec(any::<u8>(), 40)
        ]
        .prop_map(|v| ResponseBody::ProductInfo(HVec::from_slice(&v).unwrap())),
        (mah10(), mah10(), mah10()).prop_map(|(r, f, d)| ResponseBody::Capacity(Capacity {
            remaining: r,
            full: f,
            design: d
        })),
        date().prop_map(ResponseBody::DateTime),
        (kind(), voltage()).prop_map(|(k, v)| ResponseBody::Voltage(k, v)),
        current().prop_map(ResponseBody::ChargeOverCurrent),
        current().prop_map(ResponseBody::DischargeOverCurrent),
        balance().prop_map(ResponseBody::Balancing),
        full().prop_map(ResponseBody::FullCharge),
        prop::sample::select(vec![0x9Au8, 0x9B, 0xB5, 0xAE, 0xD0, 0xB2])
            .prop_map(|c| ResponseBody::Accepted { command: c }),
        (
            prop::sample::select(vec![0x9Au8, 0x9B, 0x99, 0x9C]),
            any::<u8>()
        )
            .prop_map(|(c, s)| ResponseBody::ControlState {
                command: c,
                state: s
            }),
    ]
}

blocks::round_trip_properties!(request_body(), response_body());

proptest! {
    #[test]
    fn decoding_is_total_and_lossless(cid2 in any::<u8>(), rtn in prop_oneof![Just(0u8), any::<u8>()],
                                      info in proptest::collection::vec(any::<u8>(), 0..120)) {
        let f = Frame::new(0x25, 1, 0x46, rtn, &info).unwrap();
        prop_assert_eq!(Response::from_frame(&f, cid2).to_frame().unwrap(), f);
        let q = Frame::new(0x25, 1, 0x46, cid2, &info).unwrap();
        prop_assert_eq!(Request::from_frame(&q).to_frame().unwrap(), q);
    }

    #[test]
    fn request_stream_in_any_chunking(
        reqs in proptest::collection::vec((any::<u8>(), request_body()), 1..6),
        noise in proptest::collection::vec(proptest::collection::vec(any::<u8>().prop_filter("no ~", |b| *b != b'~'), 0..10), 6),
        chunk in 1usize..40,
    ) {
        let reqs: Vec<Request> = reqs.into_iter().map(|(a, b)| Request::new(a, b)).collect();
        let mut stream = Vec::new();
        for (r, n) in reqs.iter().zip(&noise) {
            stream.extend_from_slice(n);
            stream.extend_from_slice(&r.to_frame().unwrap().to_bytes());
        }
        let mut d = ScanDecoder::<Requests, { voltwire_asciihex::MAX_FRAME_LEN }>::new();
        let mut got = Vec::new();
        for c in stream.chunks(chunk) {
            d.feed_all(c, |item| got.push(item.value.unwrap()));
        }
        prop_assert_eq!(got, reqs);
    }
}

/// The pairing rule Pace shares with Pylontech (`voltwire_asciihex::block`): after 0xFF a
/// reply answers when its count byte equals its packs, or when it carries exactly one pack
/// whatever the byte says (a pack answering alone); a request for one pack wants that pack.
#[test]
fn all_packs_request_pairs_by_the_shared_rule() {
    // (request target, reply count byte, packs in the reply, answers)
    let cases = [
        (Target::All, 2, 2, true),
        (Target::All, 1, 1, true),
        (Target::All, 3, 1, true),
        (Target::All, 3, 2, false),
        (Target::Pack(2), 2, 1, true),
        (Target::Pack(2), 2, 2, false),
        (Target::Pack(2), 3, 1, false),
    ];
    for (target, command, packs, answers) in cases {
        let mut analog = AnalogReply::new(0, command);
        let mut status = StatusReply::new(0, command);
        for _ in 0..packs {
            analog.modules.push(PackAnalog::default()).unwrap();
            status.modules.push(PackStatus::default()).unwrap();
        }
        let pairs = [
            (RequestBody::Analog(target), ResponseBody::Analog(analog)),
            (RequestBody::Status(target), ResponseBody::Status(status)),
        ];
        for (req, body) in pairs {
            let r = Response::ok(1, body);
            assert_eq!(
                r.answers(&Request::new(1, req)),
                answers,
                "{target:?} {r:?}"
            );
        }
    }
}
