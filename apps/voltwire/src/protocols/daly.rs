//! `voltwire decode daly`: Daly UART/RS485 frames, requests and responses. Multi-frame
//! replies (0x95 cell voltages, 0x96 temperatures, 0x57/0x62/0x63 text) are assembled into
//! one object; every frame's checksum is still verified by the stream decoder.
//!
//! Frames whose address is ≥ 0x20 are host requests, the others BMS responses. The current
//! sign and balance bit order are the crate's defaults (`voltwire_daly::Variant::default`).

use serde_json::{Map, Value as J, json};
use voltwire_core::{Located, StreamDecoder as _};
use voltwire_daly::{
    Assembler, Decoder, Error, RawFrame, Request, Response, Series, StatusInfo, Variant,
};

use super::{Decode, Options};
use crate::output::{Output, num};

/// A multi-frame reply being assembled.
struct Pending {
    offset: u64,
    address: u8,
    frames: u8,
    assembler: Assembler,
}

struct State {
    variant: Variant,
    /// The last 0x94 status per BMS address: cell and sensor counts.
    status: Option<(u8, StatusInfo)>,
    pending: Option<Pending>,
}

pub(crate) fn new(_opts: &Options) -> Box<dyn Decode> {
    Box::new(Stream {
        decoder: Decoder::new(),
        state: State {
            variant: Variant::default(),
            status: None,
            pending: None,
        },
    })
}

struct Stream {
    decoder: Decoder,
    state: State,
}

impl Decode for Stream {
    fn feed(&mut self, chunk: &[u8], out: &mut Output) {
        let st = &mut self.state;
        self.decoder.feed_all(chunk, |item| on_item(item, st, out));
    }

    fn finish(&mut self, out: &mut Output) {
        while let Some(item) = self.decoder.finish() {
            on_item(item, &mut self.state, out);
        }
        flush(&mut self.state, out);
    }
}

fn on_item(item: Located<Result<RawFrame, Error>>, st: &mut State, out: &mut Output) {
    let frame = match item.value {
        Ok(f) => f,
        Err(e) => {
            flush(st, out);
            out.error(item.offset, e.code(), &e.to_string(), Map::new());
            return;
        }
    };
    if frame.is_request() {
        flush(st, out);
        let r = Request::parse(&frame);
        out.message(r.name(), item.offset, request_json(&frame, &r));
        return;
    }
    let series = Series::of(voltwire_daly::Command(frame.command));
    if let Some(series) = series {
        let [n, ..] = frame.data;
        // A new reply starts with frame 1, another series or another BMS.
        let continues = st.pending.as_ref().is_some_and(|p| {
            p.assembler.series() == series && p.address == frame.address && n != 1
        });
        if !continues {
            flush(st, out);
            let assembler = match &st.status {
                Some((addr, s)) if *addr == frame.address => Assembler::from_status(series, s),
                _ => Assembler::new(series),
            };
            st.pending = Some(Pending {
                offset: item.offset,
                address: frame.address,
                frames: 0,
                assembler,
            });
        }
        if let Some(p) = st.pending.as_mut() {
            p.assembler.push(&frame);
            p.frames = p.frames.saturating_add(1);
        }
        return;
    }
    flush(st, out);
    match Response::parse(&frame, &st.variant) {
        Ok(r) => {
            if let Response::StatusInfo(s) = r {
                st.status = Some((frame.address, s));
            }
            out.message(r.name(), item.offset, response_json(&frame, &r));
        }
        Err(e) => out.error(item.offset, e.code(), &e.to_string(), Map::new()),
    }
}

fn hex(data: &[u8]) -> String {
    use std::fmt::Write as _;
    data.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

fn code_name<T: Into<i64>>(code: T, name: Option<&str>) -> J {
    json!({ "code": code.into(), "name": name })
}

fn header(frame: &RawFrame) -> Map<String, J> {
    let mut m = Map::new();
    m.insert(
        "direction".into(),
        if frame.is_request() {
            "request"
        } else {
            "response"
        }
        .into(),
    );
    m.insert("address".into(), frame.address.into());
    m.insert("command".into(), format!("0x{:02X}", frame.command).into());
    m
}

fn request_json(frame: &RawFrame, r: &Request) -> Map<String, J> {
    let mut m = header(frame);
    match r {
        Request::Read { padding, .. } => {
            m.insert(
                "padding".into(),
                match padding {
                    voltwire_daly::Padding::Aa => "aa",
                    voltwire_daly::Padding::Zero => "zero",
                }
                .into(),
            );
        }
        Request::DischargeMosfet { on } | Request::ChargeMosfet { on } => {
            m.insert("on".into(), (*on).into());
        }
        Request::SetSoc { clock, soc } => {
            m.insert("soc_pct".into(), num(f64::from(soc.0) / 10.0));
            if !clock.is_unset() {
                m.insert(
                    "clock".into(),
                    format!(
                        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                        2000 + u16::from(clock.years_since_2000),
                        clock.month,
                        clock.day,
                        clock.hour,
                        clock.minute,
                        clock.second
                    )
                    .into(),
                );
            }
        }
        _ => {
            m.insert("data_hex".into(), hex(&frame.data).into());
        }
    }
    m
}

fn on(s: voltwire_daly::Switch) -> J {
    s.is_on().into()
}

fn response_json(frame: &RawFrame, r: &Response) -> Map<String, J> {
    let mut m = header(frame);
    match r {
        Response::PackStatus(p) => {
            m.insert("voltage_v".into(), num(p.voltage.to_si()));
            m.insert("acquired_voltage_v".into(), num(p.acquired_voltage.to_si()));
            m.insert("current_a".into(), num(p.current.to_si()));
            let [.., c0, c1, _, _] = frame.data;
            m.insert("current_raw".into(), u16::from_be_bytes([c0, c1]).into());
            m.insert("soc_pct".into(), num(f64::from(p.soc.0) / 10.0));
        }
        Response::CellVoltageRange(c) => {
            m.insert("max_cell_voltage_v".into(), num(c.max.to_si()));
            m.insert("max_cell".into(), c.max_cell.into());
            m.insert("min_cell_voltage_v".into(), num(c.min.to_si()));
            m.insert("min_cell".into(), c.min_cell.into());
        }
        Response::TemperatureRange(t) => {
            m.insert("max_temperature_c".into(), num(t.max.to_si()));
            m.insert("max_sensor".into(), t.max_sensor.into());
            m.insert("min_temperature_c".into(), num(t.min.to_si()));
            m.insert("min_sensor".into(), t.min_sensor.into());
        }
        Response::MosfetStatus(s) => {
            m.insert("state".into(), code_name(s.state.0, s.state.name()));
            m.insert("charge_mosfet".into(), on(s.charge_mosfet));
            m.insert("discharge_mosfet".into(), on(s.discharge_mosfet));
            m.insert("bms_life".into(), s.bms_life.into());
            m.insert(
                "remaining_capacity_ah".into(),
                num(s.remaining_capacity.to_si()),
            );
        }
        Response::StatusInfo(s) => {
            m.insert("cell_count".into(), s.cell_count.into());
            m.insert(
                "temperature_sensor_count".into(),
                s.temperature_sensor_count.into(),
            );
            m.insert("charger".into(), on(s.charger));
            m.insert("load".into(), on(s.load));
            let mut flags = Vec::new();
            for n in 1..=4u8 {
                if s.dio.input(n) {
                    flags.push(format!("di{n}"));
                }
            }
            for n in 1..=4u8 {
                if s.dio.output(n) {
                    flags.push(format!("do{n}"));
                }
            }
            m.insert("dio".into(), json!({ "raw": s.dio.0, "flags": flags }));
            m.insert("cycles".into(), s.cycles.into());
        }
        Response::BalanceState(b) => {
            let order = Variant::default().balance_bit_order;
            let cells: Vec<u8> = (1..=48).filter(|&c| b.is_balancing(c, order)).collect();
            m.insert("raw_hex".into(), hex(&b.0).into());
            m.insert("balancing_cells".into(), cells.into());
        }
        Response::Failures(f) => {
            let names: Vec<&str> = f.flags.iter().map(voltwire_daly::Failure::name).collect();
            m.insert(
                "failures".into(),
                json!({ "raw": hex(&f.flags.0), "flags": names }),
            );
            m.insert("fault_code".into(), f.fault_code.into());
        }
        Response::RatedParameters(p) => {
            m.insert("rated_capacity_ah".into(), num(p.rated_capacity.to_si()));
            m.insert(
                "nominal_cell_voltage_v".into(),
                num(p.nominal_cell_voltage.to_si()),
            );
        }
        Response::BatteryInfo(b) => {
            m.insert(
                "production_date".into(),
                format!(
                    "{:04}-{:02}-{:02}",
                    2000 + u16::from(b.production_years_since_2000),
                    b.production_month,
                    b.production_day
                )
                .into(),
            );
            m.insert("battery_type_hex".into(), hex(&b.head).into());
        }
        Response::DischargeMosfet(a)
        | Response::ChargeMosfet(a)
        | Response::SetSoc(a)
        | Response::Reset(a) => {
            m.insert("status".into(), a.status.into());
            m.insert("data_hex".into(), hex(&frame.data).into());
        }
        _ => {
            m.insert("data_hex".into(), hex(&frame.data).into());
        }
    }
    m
}

/// Emit the multi-frame reply being assembled, if any.
fn flush(st: &mut State, out: &mut Output) {
    let Some(p) = st.pending.take() else {
        return;
    };
    let a = &p.assembler;
    let mut m = Map::new();
    m.insert("direction".into(), "response".into());
    m.insert("address".into(), p.address.into());
    m.insert(
        "command".into(),
        format!("0x{:02X}", a.series().command().0).into(),
    );
    m.insert("frames".into(), p.frames.into());
    m.insert("count".into(), a.count().into());
    let missing: Vec<u8> = a
        .missing()
        .filter(|n| a.count().is_some() || *n <= highest(a))
        .collect();
    m.insert("missing_frames".into(), missing.into());
    m.insert("duplicate_frames".into(), a.duplicates().into());
    let kind = match a.series() {
        Series::CellVoltages => {
            let mut v: Vec<Option<i32>> = a.cell_voltages().map(|c| c.map(|c| c.0)).collect();
            if a.count().is_none() {
                // Unknown cell count: the slots past the last cell are 0x0000.
                while v.last() == Some(&Some(0)) {
                    v.pop();
                }
            }
            let vs: Vec<J> = v
                .iter()
                .map(|c| c.map_or(J::Null, |mv| num(f64::from(mv) / 1000.0)))
                .collect();
            m.insert("cell_voltages_v".into(), vs.into());
            "cell_voltages"
        }
        Series::Temperatures => {
            let mut t: Vec<Option<i16>> = a.temperatures().map(|c| c.map(|c| c.0)).collect();
            if a.count().is_none() {
                // Unknown sensor count: unused slots are raw 0x00 (−40 °C).
                while t.last() == Some(&Some(-400)) {
                    t.pop();
                }
            }
            let ts: Vec<J> = t
                .iter()
                .map(|c| c.map_or(J::Null, |dc| num(f64::from(dc) / 10.0)))
                .collect();
            m.insert("temperatures_c".into(), ts.into());
            "temperatures"
        }
        series => {
            let mut buf = [0u8; 128];
            let n = a.text(&mut buf);
            let text = buf.get(..n).unwrap_or_default();
            m.insert(
                "text".into(),
                String::from_utf8_lossy(text).into_owned().into(),
            );
            match series {
                Series::BatteryCode => "battery_code",
                Series::SoftwareVersion => "software_version",
                _ => "hardware_version",
            }
        }
    };
    out.message(kind, p.offset, m);
}

/// The highest frame number received (for reporting gaps when the count is unknown).
fn highest(a: &Assembler) -> u8 {
    (1..=16u8).rev().find(|&n| a.has_frame(n)).unwrap_or(0)
}
