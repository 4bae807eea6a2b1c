//! `voltwire decode`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::output::Output;
use crate::{input, protocols, stdout};

#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// Protocol of the capture (see --list).
    #[arg(required_unless_present = "list")]
    protocol: Option<String>,

    /// Capture file; `-` or absent reads standard input.
    input: Option<PathBuf>,

    /// The input is hex text (whitespace ignored) instead of raw bytes.
    #[arg(long)]
    hex: bool,

    /// For protocols whose responses do not name their request (Pace v25, Pylontech
    /// RS485): decode responses as answers to this command (hex, e.g. 42).
    #[arg(long, value_name = "HEX")]
    command: Option<String>,

    /// List the protocols and exit.
    #[arg(long)]
    list: bool,
}

pub(crate) fn run(args: &DecodeArgs) -> ExitCode {
    if args.list {
        let mut text = String::new();
        for p in protocols::ALL {
            let _ = writeln!(text, "{:<16} {}", p.name, p.description);
        }
        return match stdout::write_all(&text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => stdout::failed("voltwire decode", &e),
        };
    }
    let Some(name) = args.protocol.as_deref() else {
        return usage("missing PROTOCOL (see `voltwire decode --list`)");
    };
    let Some(protocol) = protocols::find(name) else {
        let names: Vec<_> = protocols::ALL.iter().map(|p| p.name).collect();
        return usage(&format!(
            "unknown PROTOCOL `{name}`; choose one of: {}",
            names.join(", ")
        ));
    };
    let command = match args.command.as_deref() {
        None => None,
        Some(_) if !protocol.takes_command => {
            return usage(&format!(
                "--command does not apply to `{}`: its responses name what they answer",
                protocol.name
            ));
        }
        Some(c) => match u8::from_str_radix(c.trim_start_matches("0x"), 16) {
            Ok(v) => Some(v),
            Err(_) => {
                return usage(&format!(
                    "--command `{c}` is not a one-byte hex command code (e.g. 42)"
                ));
            }
        },
    };
    let raw = match input::read(args.input.as_deref()) {
        Ok(b) => b,
        Err(e) => return usage(&e),
    };
    let bytes = if args.hex {
        match input::from_hex(&raw) {
            Ok(b) => b,
            Err(e) => return usage(&e),
        }
    } else {
        raw
    };
    let mut out = Output::new(protocol.name);
    (protocol.decode)(&bytes, &protocols::Options { command }, &mut out);
    out.flush();
    if let Some(e) = out.write_error.take() {
        // A closed pipe (`| head -1`) ends the output quietly; the status is as if it had
        // all been read. Any other write error is a failure: the output is incomplete.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return stdout::failed("voltwire decode", &e);
        }
    }
    if out.messages == 0 {
        say!(
            "voltwire: nothing could be decoded as {} ({} bytes read, {} errors)",
            protocol.name,
            bytes.len(),
            out.errors
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn usage(msg: &str) -> ExitCode {
    say!("voltwire decode: {msg}");
    ExitCode::from(2)
}
