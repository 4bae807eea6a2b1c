//! `voltwire decode slcan`: raw SLCAN (Lawicel ASCII) bytes as an adapter sends them
//! (frames with or without timestamps, CR/BEL replies, version/serial/status); host commands
//! in the same stream (`S5`, `O`, …) are reported as `command`. `offset` is the byte offset.

use std::fmt::Write as _;

use embedded_can::Frame as _;
use serde_json::{Map, Value as J, json};
use voltwire_core::{Located, StreamDecoder as _};
use voltwire_slcan::{Command, Dialect, Error, FrameLine, HostDecoder, Response, bitrate_bps};

use super::{Decode, Options};
use crate::output::{Output, num};

pub(crate) fn new(_opts: &Options) -> Box<dyn Decode> {
    Box::new(Stream(HostDecoder::new()))
}

struct Stream(HostDecoder);

impl Decode for Stream {
    fn feed(&mut self, chunk: &[u8], out: &mut Output) {
        self.0.feed_all(chunk, |item| emit(item, out));
    }

    fn finish(&mut self, out: &mut Output) {
        while let Some(item) = self.0.finish() {
            emit(item, out);
        }
    }
}

fn frame(l: &FrameLine) -> Map<String, J> {
    let f = &l.frame;
    let width = if f.is_extended() { 8 } else { 3 };
    let v = json!({
        "id": f.id(),
        "id_hex": format!("0x{:0width$X}", f.id()),
        "extended": f.is_extended(),
        "remote": f.is_remote_frame(),
        "dlc": f.dlc(),
        "data_hex": f.data().iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        }),
        "timestamp_s": l.timestamp.map(|t| num(f64::from(t) / 1000.0)),
    });
    match v {
        J::Object(m) => m,
        _ => Map::new(),
    }
}

fn command(c: &Command) -> Option<(&'static str, J)> {
    Some(match *c {
        Command::Bitrate(n) => (
            "bitrate",
            json!({ "code": n, "bitrate_bps": bitrate_bps(n, Dialect::Canable), "bitrate_bps_lawicel": bitrate_bps(n, Dialect::Lawicel) }),
        ),
        Command::Btr(a, b) => ("btr", json!({ "btr0": a, "btr1": b })),
        Command::Open => ("open", J::Null),
        Command::ListenOnly => ("listen_only", J::Null),
        Command::Close => ("close", J::Null),
        Command::AcceptanceCode(v) => ("acceptance_code", json!(v)),
        Command::AcceptanceMask(v) => ("acceptance_mask", json!(v)),
        Command::Mode(m) => ("mode", json!(m)),
        Command::AutoRetransmit(on) => ("auto_retransmit", json!(on)),
        Command::Version => ("version", J::Null),
        Command::DetailedVersion => ("detailed_version", J::Null),
        Command::SerialNumber => ("serial_number", J::Null),
        Command::Status => ("status", J::Null),
        Command::Timestamps(n) => ("timestamps", json!(n)),
        Command::FdDataRate(n) => ("fd_data_rate", json!(n)),
        _ => return None,
    })
}

fn emit(item: Located<Result<Response, Error>>, out: &mut Output) {
    let mut f = Map::new();
    let kind = match item.value {
        Err(e) => {
            out.error(item.offset, e.code(), &e.to_string(), Map::new());
            return;
        }
        Ok(Response::Frame(l)) => {
            f = frame(&l);
            "frame"
        }
        Ok(Response::Ok) => "ok",
        Ok(Response::Error) => "nak",
        Ok(Response::TransmitAck { extended }) => {
            f.insert("extended".into(), extended.into());
            "transmit_ack"
        }
        Ok(Response::Version(v)) => {
            f.insert("version".into(), String::from_utf8_lossy(&v).into());
            "version"
        }
        Ok(Response::Serial(v)) => {
            f.insert("serial".into(), String::from_utf8_lossy(&v).into());
            "serial"
        }
        Ok(Response::Status(s)) => {
            f.insert("status".into(), json!({ "raw": s, "flags": [] }));
            "status"
        }
        Ok(Response::DetailedVersion(l)) => {
            f.insert("text".into(), String::from_utf8_lossy(l.as_bytes()).into());
            "detailed_version"
        }
        Ok(Response::Unknown(l)) => {
            if let Some((name, arg)) = Command::parse(l.as_bytes()).ok().as_ref().and_then(command)
            {
                f.insert("command".into(), name.into());
                if !arg.is_null() {
                    f.insert("argument".into(), arg);
                }
                "command"
            } else {
                f.insert("text".into(), String::from_utf8_lossy(l.as_bytes()).into());
                out.unrecognized += 1;
                "unknown"
            }
        }
        Ok(_) => {
            out.unrecognized += 1;
            "unknown"
        }
    };
    out.message(kind, item.offset, f);
}
