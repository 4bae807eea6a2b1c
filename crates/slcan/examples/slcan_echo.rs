//! The adapter side of an SLCAN link, for the python-can interop test
//! (`interop/slcan/test_interop.py`).
//!
//! `slcan_echo PTY` opens the pseudo-terminal with plain std file I/O and:
//! - answers every command the way a Lawicel adapter does (CR = OK, BEL = error; `V`, `N`,
//!   `F` with their values);
//! - after the first `O` (open) sends three known frames: `t35188…` (a Pylontech 0x351 from a
//!   real capture), `T000C02004…` (a Mean Well BIC-2200 `READ_VOUT` reply) and `r1238`;
//! - echoes every frame it is asked to transmit with the id incremented (wrapping inside
//!   11 or 29 bits), same data / DLC / remote flag;
//! - exits at end of input or on a read error.

#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "a std example"
)]

use std::io::{Read as _, Write as _};
use std::process::ExitCode;

use voltwire_core::can::{MAX_EXTENDED_ID, MAX_STANDARD_ID};
use voltwire_core::{Emit, StreamDecoder as _};
use voltwire_slcan::{AdapterDecoder, CanFrame, Command, FrameLine, Response};

fn known_frames() -> Vec<CanFrame> {
    [
        CanFrame::standard(0x351, &[0x33, 0x02, 0x09, 0x24, 0x09, 0x24, 0xD5, 0x01]),
        CanFrame::extended(0x000C_0200, &[0x60, 0x00, 0xC0, 0x14]),
        CanFrame::remote_frame(0x123, false, 8),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn incremented(f: &CanFrame) -> Option<CanFrame> {
    let max = if f.is_extended() {
        MAX_EXTENDED_ID
    } else {
        MAX_STANDARD_ID
    };
    let id = (f.id() + 1) & max;
    if f.is_remote() {
        CanFrame::remote_frame(id, f.is_extended(), f.dlc())
    } else {
        CanFrame::data_frame(id, f.is_extended(), f.data())
    }
}

fn push(out: &mut Vec<u8>, r: &Response) {
    let mut buf = [0u8; 64];
    if let Ok(n) = r.emit(&mut buf) {
        out.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: slcan_echo PTY");
        return ExitCode::from(2);
    };
    let mut port = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("slcan_echo: {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("ready");
    let _ = std::io::stdout().flush();
    let mut decoder = AdapterDecoder::new();
    let mut sent_known = false;
    let mut buf = [0u8; 512];
    loop {
        let n = match port.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let mut out = Vec::new();
        decoder.feed_all(buf.get(..n).unwrap_or_default(), |item| match item.value {
            Ok(Command::Open | Command::ListenOnly) => {
                push(&mut out, &Response::Ok);
                if !sent_known {
                    sent_known = true;
                    for f in known_frames() {
                        push(&mut out, &Response::Frame(FrameLine::from(f)));
                    }
                }
            }
            Ok(Command::Transmit(line)) => {
                push(&mut out, &Response::Ok);
                if let Some(f) = incremented(&line.frame) {
                    push(&mut out, &Response::Frame(FrameLine::from(f)));
                }
            }
            Ok(Command::Version) => push(&mut out, &Response::Version(*b"1013")),
            Ok(Command::SerialNumber) => push(&mut out, &Response::Serial(*b"VW01")),
            Ok(Command::Status) => push(&mut out, &Response::Status(0)),
            Ok(Command::Unknown(_)) | Err(_) => push(&mut out, &Response::Error),
            Ok(_) => push(&mut out, &Response::Ok),
        });
        if !out.is_empty() && (port.write_all(&out).is_err() || port.flush().is_err()) {
            break;
        }
    }
    ExitCode::SUCCESS
}
