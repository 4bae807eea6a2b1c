//! `voltwire decode`.

use std::fmt::Write as _;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::output::Output;
use crate::{input, live, protocols, stdout};

#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// Protocol of the capture (see --list).
    #[arg(required_unless_present = "list")]
    protocol: Option<String>,

    /// Capture file, `-` or absent for standard input, or a live source:
    /// serial:///dev/ttyUSB0[?baud=N] (default: the protocol's baud rate), tcp://HOST:PORT,
    /// and for CAN protocols slcan:///dev/ttyACM0?bitrate=500000, slcan+tcp://HOST:PORT,
    /// socketcan://can0. Decoding streams: each message is printed as soon as it is
    /// complete; a live source is reopened with backoff when lost, until Ctrl-C.
    #[arg(value_name = "SOURCE")]
    #[allow(clippy::doc_markdown, reason = "URLs shown as typed in --help")]
    input: Option<PathBuf>,

    /// Keep reading at the end of the file, as it grows (`tail -f`); stop with Ctrl-C.
    #[arg(long)]
    follow: bool,

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
    if let Some(url) = args
        .input
        .as_deref()
        .and_then(|p| p.to_str())
        .filter(|s| live::is_url(s))
    {
        if args.follow || args.hex {
            return usage("--follow and --hex apply to files and stdin, not to a live SOURCE");
        }
        let source = match live::parse(protocol, url) {
            Ok(s) => s,
            Err(e) => return usage(&e),
        };
        let mut decoder = (protocol.new)(&protocols::Options { command });
        return live::decode(protocol, url, source, &mut *decoder);
    }
    if args.follow && args.input.as_deref().is_none_or(|p| p.as_os_str() == "-") {
        return usage(
            "--follow needs a file to follow (standard input ends only when its writer closes it)",
        );
    }
    let opened = match (args.follow, args.input.as_deref()) {
        (true, Some(path)) => input::Followed::open(path).map(|f| Box::new(f) as Box<dyn Read>),
        _ => input::open(args.input.as_deref()),
    };
    let mut reader = match opened {
        Ok(r) => r,
        Err(e) => return usage(&e),
    };
    let mut hex = args.hex.then(input::Hex::default);
    let mut out = Output::new(protocol.name);
    let mut decoder = (protocol.new)(&protocols::Options { command });
    let (read, result) = input::pump(
        &mut *reader,
        hex.as_mut(),
        args.follow,
        &mut *decoder,
        &mut out,
    );
    if out.write_error.is_none() {
        decoder.finish(&mut out);
    }
    out.flush();
    if let Some(e) = out.write_error.take() {
        // A closed pipe (`| head -1`) ends the output quietly; the status is as if it had
        // all been read. Any other write error is a failure: the output is incomplete.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return stdout::failed("voltwire decode", &e);
        }
        return ExitCode::SUCCESS;
    }
    if let Err(e) = result {
        return usage(&e);
    }
    if out.messages == 0 {
        say!(
            "voltwire: nothing could be decoded as {} ({read} bytes read, {} errors)",
            protocol.name,
            out.errors
        );
        return ExitCode::from(1);
    }
    not_the_protocol(protocol.name, &out, read)
}

/// Exit 1 when most messages were only lines of text (`decode slcan` on another protocol's
/// capture), else 0.
fn not_the_protocol(name: &str, out: &Output, read: u64) -> ExitCode {
    let known = out.messages - out.unrecognized;
    if out.unrecognized > known {
        say!(
            "voltwire: this does not look like {name}: {} of {} lines are not {name} ({read} bytes read, {} errors)",
            out.unrecognized,
            out.messages,
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
