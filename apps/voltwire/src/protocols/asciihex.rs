//! The ASCII-hex frame walk and JSON helpers shared by `pace` and `pylontech_rs485`.
//!
//! Frames whose CID2 is a return code are responses; a response is decoded as the answer to
//! `--command`, else to the request to the same address seen just before it, else reported
//! undecoded with its raw INFO.

use serde_json::{Map, Value as J, json};
use voltwire_asciihex::block::{Analog, Block, Dialect, Reply, Status};
use voltwire_asciihex::message::{Request, RequestBody, Response, ResponseBody};
use voltwire_asciihex::{Found, Frame, Rtn, scan_frame};
use voltwire_core::{DeciKelvin, MilliampHours, Milliamps, Millivolts};

use super::{Decode, Options, Walk, Window};
use crate::output::{Output, num};

/// A message's kind and fields.
pub(super) type Message = (&'static str, Map<String, J>);

/// A streaming decoder of every frame (`is_rtn` tells responses): requests through
/// `request`, responses whose command is known through `response`, the others with their
/// raw INFO.
pub(super) fn decoder<Q: RequestBody + 'static, R: ResponseBody + 'static>(
    opts: &Options,
    is_rtn: fn(u8) -> bool,
    request: fn(&Request<Q>) -> Map<String, J>,
    response: fn(&Response<R>) -> Message,
) -> Box<dyn Decode> {
    Box::new(Window::new(Frames {
        command: opts.command,
        last: None,
        is_rtn,
        request,
        response,
    }))
}

/// The frame walk: reports corrupt frames, classifies and pairs the others.
struct Frames<Q, R> {
    /// `--command`.
    command: Option<u8>,
    /// The last request seen (address, command), which the next response may answer.
    last: Option<(u8, u8)>,
    is_rtn: fn(u8) -> bool,
    request: fn(&Request<Q>) -> Map<String, J>,
    response: fn(&Response<R>) -> Message,
}

impl<Q: RequestBody, R: ResponseBody> Frames<Q, R> {
    fn emit(&self, offset: u64, item: Item<'_>, out: &mut Output) {
        match item {
            Item::Request(f) => {
                out.message("request", offset, (self.request)(&Request::from_frame(f)));
            }
            Item::Response(f, Some(cmd)) => {
                let (kind, m) = (self.response)(&Response::from_frame(f, cmd));
                out.message(kind, offset, m);
            }
            Item::Response(f, None) => {
                let mut m = Map::new();
                m.insert("adr".into(), f.adr.into());
                m.insert("rtn".into(), rtn_json(f.rtn()));
                m.insert("info_hex".into(), hex(&f.info).into());
                out.message("response", offset, m);
            }
        }
    }
}

/// One frame of the walk.
#[derive(Clone, Copy)]
enum Item<'a> {
    /// A frame whose CID2 is a command.
    Request(&'a Frame),
    /// A frame whose CID2 is a return code, with the command it answers if known.
    Response(&'a Frame, Option<u8>),
}

impl<Q: RequestBody, R: ResponseBody> Walk for Frames<Q, R> {
    fn walk(&mut self, bytes: &[u8], base: u64, last: bool, out: &mut Output) -> usize {
        let mut pos = 0usize;
        while pos < bytes.len() {
            let rest = bytes.get(pos..).unwrap_or_default();
            match scan_frame(rest) {
                Found::Incomplete { skip } if !last => return pos + skip,
                Found::Incomplete { skip } => {
                    if skip < rest.len() {
                        let mut extra = Map::new();
                        extra.insert(
                            "raw".into(),
                            String::from_utf8_lossy(rest.get(skip..).unwrap_or_default()).into(),
                        );
                        out.error(
                            base + (pos + skip) as u64,
                            "truncated",
                            "frame cut off at the end of the input",
                            extra,
                        );
                    }
                    return bytes.len();
                }
                Found::Corrupt { skip, len, error } => {
                    let at = pos + skip;
                    let mut extra = Map::new();
                    extra.insert(
                        "raw".into(),
                        String::from_utf8_lossy(bytes.get(at..at + len).unwrap_or_default())
                            .trim_end()
                            .into(),
                    );
                    out.error(base + at as u64, error.code(), &error.to_string(), extra);
                    pos = at + len;
                }
                Found::Frame { skip, len } => {
                    let at = pos + skip;
                    pos = at + len;
                    let Ok(frame) = Frame::parse(bytes.get(at..pos).unwrap_or_default()) else {
                        continue;
                    };
                    let offset = base + at as u64;
                    if (self.is_rtn)(frame.cid2) {
                        let paired = self
                            .last
                            .take()
                            .filter(|(adr, _)| *adr == frame.adr)
                            .map(|(_, c)| c);
                        let answers = self.command.or(paired);
                        self.emit(offset, Item::Response(&frame, answers), out);
                    } else {
                        self.last = Some((frame.adr, frame.cid2));
                        self.emit(offset, Item::Request(&frame), out);
                    }
                }
            }
        }
        pos
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    use core::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

pub(super) fn code_name(code: u8, name: Option<&str>) -> J {
    json!({ "code": code, "name": name })
}

/// A state byte as `{raw, flags}`: its value and the names of its set bits.
pub(super) fn bits<W: voltwire_core::FlagWord<Raw = u8>>(word: W) -> J {
    json!({ "raw": word.raw(), "flags": word.flags().collect::<Vec<_>>() })
}

pub(super) fn volts(v: Millivolts) -> J {
    num(v.to_si())
}

pub(super) fn amps(a: Milliamps) -> J {
    num(a.to_si())
}

pub(super) fn amp_hours(c: MilliampHours) -> J {
    num(c.to_si())
}

pub(super) fn celsius(t: DeciKelvin, zero: i32) -> J {
    t.to_celsius(zero).map_or(J::Null, |c| num(c.to_si()))
}

pub(super) fn text(b: &[u8]) -> J {
    String::from_utf8_lossy(b)
        .trim_end_matches(['\0', ' '])
        .to_owned()
        .into()
}

pub(super) fn rtn_json(rtn: Rtn) -> J {
    code_name(rtn.code(), rtn.name())
}

/// The first fields of a request or response: the address, the return code (responses),
/// the command with its name.
pub(super) fn header(adr: u8, rtn: Option<Rtn>, command: u8, name: Option<&str>) -> Map<String, J> {
    let mut m = Map::new();
    m.insert("adr".into(), adr.into());
    if let Some(rtn) = rtn {
        m.insert("rtn".into(), rtn_json(rtn));
    }
    m.insert("command".into(), code_name(command, name));
    m
}

/// A 0x42/0x44 reply of kind `kind` (returned): the flag under `flag`, the command value,
/// each block under `blocks`, and trailing bytes if any.
pub(super) fn reply_json<B: Block>(
    kind: &'static str,
    r: &Reply<B>,
    [flag, blocks]: [&str; 2],
    block: impl Fn(&B) -> J,
    m: &mut Map<String, J>,
) -> &'static str {
    m.insert(flag.into(), r.info_flag.into());
    m.insert("command_value".into(), r.command.into());
    m.insert(
        blocks.into(),
        r.modules.iter().map(block).collect::<Vec<_>>().into(),
    );
    if !r.trailing.is_empty() {
        m.insert("trailing_hex".into(), hex(&r.trailing).into());
    }
    kind
}

/// Where each temperature of an analog block goes: Pylontech sends the BMS board first,
/// then the cell groups; Pace the cell sensors, then the MOSFET, then the environment.
#[derive(Debug, Clone, Copy)]
pub(super) enum Temperatures {
    /// `bms_temperature_c`, then `cell_temperatures_c`.
    BoardFirst,
    /// `cell_temperatures_c`, then `mosfet_temperature_c` and `environment_temperature_c`
    /// (when there are at least three).
    MosfetAndEnvironmentLast,
}

/// An analog block's cells, temperatures (labelled by `temps`), current, voltage,
/// remaining capacity, total capacity (under `total`) and cycles.
pub(super) fn analog_json<D: Dialect>(
    p: &Analog<D>,
    total: &str,
    temps: Temperatures,
) -> Map<String, J> {
    let mut m = Map::new();
    m.insert(
        "cell_voltages_v".into(),
        p.cells.iter().map(|c| volts(*c)).collect::<Vec<_>>().into(),
    );
    let t: Vec<J> = p
        .temperatures
        .iter()
        .map(|t| celsius(*t, D::ZERO_CELSIUS))
        .collect();
    match temps {
        Temperatures::BoardFirst => {
            let (board, cells) = t
                .split_first()
                .map_or((J::Null, &[][..]), |(b, c)| (b.clone(), c));
            m.insert("bms_temperature_c".into(), board);
            m.insert("cell_temperatures_c".into(), cells.to_vec().into());
        }
        Temperatures::MosfetAndEnvironmentLast => match t.len().checked_sub(2) {
            Some(n) if n > 0 => {
                let (cells, rest) = t.split_at(n);
                m.insert("cell_temperatures_c".into(), cells.to_vec().into());
                let mut rest = rest.iter().cloned();
                m.insert(
                    "mosfet_temperature_c".into(),
                    rest.next().unwrap_or(J::Null),
                );
                m.insert(
                    "environment_temperature_c".into(),
                    rest.next().unwrap_or(J::Null),
                );
            }
            _ => {
                m.insert("cell_temperatures_c".into(), t.into());
            }
        },
    }
    m.insert("current_a".into(), amps(p.current));
    m.insert("voltage_v".into(), volts(p.voltage));
    m.insert("remaining_capacity_ah".into(), amp_hours(p.remaining()));
    m.insert(total.into(), amp_hours(p.total()));
    m.insert("cycles".into(), p.cycles.into());
    m
}

/// A status block's per-cell, per-temperature, current and voltage states, each under
/// `…_{word}` (the voltage under `{voltage}_{word}`) and named by `name`.
pub(super) fn status_json<D: Dialect>(
    s: &Status<D>,
    word: &str,
    voltage: &str,
    name: fn(u8) -> Option<&'static str>,
) -> Map<String, J> {
    let states = |v: &[u8]| -> J {
        v.iter()
            .map(|x| code_name(*x, name(*x)))
            .collect::<Vec<_>>()
            .into()
    };
    let mut m = Map::new();
    m.insert(format!("cell_{word}s"), states(&s.cells));
    m.insert(format!("temperature_{word}s"), states(&s.temperatures));
    for (key, v) in [
        ("charge_current", s.charge_current),
        (voltage, s.voltage),
        ("discharge_current", s.discharge_current),
    ] {
        m.insert(format!("{key}_{word}"), code_name(v, name(v)));
    }
    m
}

/// The 1-based numbers of the bits set in `lo` (1–8) and `hi` (9–16).
pub(super) fn cells_set(lo: u8, hi: u8) -> J {
    let v: Vec<u32> = (0..16u32)
        .filter(|i| (u16::from(hi) << 8 | u16::from(lo)) & (1 << i) != 0)
        .map(|i| i + 1)
        .collect();
    v.into()
}

/// The fields of a 0x4F (protocol version) or 0x51 (manufacturer) reply, or the raw INFO of
/// an undecoded one; the message kind, `None` for other replies.
pub(super) fn common_reply(
    ver: u8,
    manufacturer: Option<(&[u8], &[u8], &[u8])>,
    m: &mut Map<String, J>,
) -> &'static str {
    if let Some((device_name, software_version, maker)) = manufacturer {
        m.insert("device_name".into(), text(device_name));
        m.insert("software_version".into(), software_version.to_vec().into());
        m.insert("manufacturer".into(), text(maker));
        "manufacturer"
    } else {
        m.insert("version".into(), format!("0x{ver:02X}").into());
        "protocol_version"
    }
}
