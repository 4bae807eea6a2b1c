//! `voltwire` — the command line of the voltwire toolkit.
//!
//! `voltwire decode <PROTOCOL> [INPUT]` turns a capture into JSON Lines; `voltwire sim
//! <DEVICE> --listen pty|tcp://HOST:PORT` serves a simulated device; see `--help`.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool writes to stdout and stderr"
)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "an std application"
)]

/// `eprintln!` that never panics: a line stderr cannot take (closed, `2>/dev/full`) is
/// dropped. Everything the app prints to stderr goes through it.
macro_rules! say {
    ($($arg:tt)*) => {
        voltwire_runtime::logging::stderr_line(format_args!($($arg)*))
    };
}

mod candump;
mod decode;
mod input;
mod live;
mod output;
mod poll;
mod protocols;
mod sim;
mod stdout;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// voltwire: decode, poll and simulate battery, BMS, charger and inverter protocols.
///
/// `decode` turns a capture, stdin or a live port into JSON Lines as it arrives; `poll` asks
/// a device for its status (read-only); `sim` plays a simulated device.
///
/// Output is JSON Lines: one object per message with "protocol", "type" (message name),
/// "offset" (byte offset in the input, or line number for line-based input) and the
/// message's fields. Physical quantities are numbers in SI units with the unit as key
/// suffix (_v, _a, _w, _va, _wh, _ah, _pct, _c, _k, _s, _ohm, _rpm, _bps); current is positive when the battery
/// charges. Enumerations give {"code", "name"}, bit fields {"raw", "flags"}. A frame that
/// fails its checksum or structure gives {"protocol", "type": "error", "offset", "error"} on
/// stdout and a readable line on stderr, and decoding goes on.
///
/// Exit status: 0 when the input was read to the end and at least one message decoded,
/// 1 when nothing at all could be decoded, 2 on usage errors (bad arguments, unreadable
/// input, malformed --hex text).
#[derive(Debug, Parser)]
#[command(name = "voltwire", version, about, long_about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode a capture, stdin or a live port to JSON Lines on stdout, as it arrives.
    ///
    /// Examples:
    ///   voltwire decode vedirect testdata/victron/bluesolar-75-15-fw123-karioja-dump.bin
    ///   voltwire decode vedirect --hex < capture.hex
    ///   voltwire decode vedirect serial:///dev/ttyUSB0
    ///   cat /dev/ttyUSB0 | voltwire decode vedirect
    ///   voltwire decode pylontech-can slcan:///dev/ttyACM0?bitrate=500000
    ///   voltwire decode --list
    #[command(verbatim_doc_comment)]
    #[allow(
        clippy::doc_markdown,
        reason = "shell examples shown verbatim in --help"
    )]
    Decode(decode::DecodeArgs),

    /// Simulate a device on a pseudo-terminal, a simulated SLCAN adapter (slcan-pty), a TCP
    /// port or HTTP, in real time.
    ///
    /// Listen on `pty` (serial devices), `slcan-pty` (CAN devices, behind a simulated SLCAN
    /// adapter), `tcp://HOST:PORT` or `http://HOST:PORT` (meter).
    ///
    /// Prints `{"listening": "<pty path or address>"}` as its first line, then serves until
    /// SIGINT/SIGTERM. One subcommand per device, each with its own options (`voltwire sim
    /// DEVICE --help`).
    ///
    /// Examples:
    ///   voltwire sim daly --listen pty
    ///   voltwire sim pylontech-rs485 --modules 3 --listen tcp://127.0.0.1:0
    ///   voltwire sim vedirect-mppt --listen pty --speed 60 --fault bad-checksum
    ///   voltwire sim pylontech-can --listen slcan-pty
    ///   voltwire sim --list
    #[command(verbatim_doc_comment)]
    #[allow(
        clippy::doc_markdown,
        reason = "shell examples shown verbatim in --help"
    )]
    Sim(sim::SimArgs),

    /// Ask a device for its status, again and again: the master role of the request/response
    /// protocols (daly, jk, jk-pb, pace, pylontech-rs485, meanwell-can, vedirect HEX get).
    ///
    /// Sends the protocol's status requests each --interval and prints the decoded replies
    /// as JSON Lines; a request without a reply within --timeout gives a
    /// {"type":"timeout","cycle","request"} line, and polling goes on. Only reads: nothing
    /// that poll sends changes the device. A lost port is reopened with backoff.
    ///
    /// Examples:
    ///   voltwire poll daly serial:///dev/ttyUSB0
    ///   voltwire poll pylontech-rs485 tcp://192.168.1.50:4001 --address 2 --interval 2
    ///   voltwire poll meanwell-can slcan:///dev/ttyACM0?bitrate=250000 --count 1
    #[command(verbatim_doc_comment)]
    #[allow(
        clippy::doc_markdown,
        reason = "shell examples shown verbatim in --help"
    )]
    Poll(poll::PollArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help`, `--version` and usage errors, as clap prints them; an option given
            // to a device that does not take it also names the devices that do.
            let hint = (std::env::args().nth(1).as_deref() == Some("sim"))
                .then(|| sim::hint(&e))
                .flatten();
            let _ = e.print();
            if let Some(hint) = hint {
                say!("\ntip: {hint}");
            }
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match cli.command {
        Command::Decode(args) => decode::run(&args),
        Command::Sim(args) => sim::run(args),
        Command::Poll(args) => poll::run(&args),
    }
}
