//! Writing to stdout without panicking: `println!` panics when stdout cannot be written
//! (`> /dev/full`); these report the error instead.

use std::io::{self, Write as _};
use std::process::ExitCode;

/// Writes `text` to stdout and flushes it.
///
/// # Errors
/// The write error.
pub(crate) fn write_all(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// The exit status for a failed write to stdout: a closed pipe (`| head -1`) is a quiet
/// success (the reader has what it wanted), anything else a message and status 1.
pub(crate) fn failed(what: &str, e: &io::Error) -> ExitCode {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return ExitCode::SUCCESS;
    }
    say!("{what}: cannot write to stdout: {e}");
    ExitCode::from(1)
}
