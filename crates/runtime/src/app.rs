//! The command-line skeleton every app shares: the configuration flags (`--config`,
//! `--check-config`, `--init [--force]`) to `#[command(flatten)]` into the app's clap
//! parser, and the lines and exit codes around them.
//!
//! Exit codes: 0 done (or the reader closed stdout), 1 a failure while running (or stdout
//! not writable), 2 a usage or configuration error. Every message on stderr starts with the
//! app's name.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The configuration flags. The app's own parser must define a `demo` flag (the flags here
/// conflict with it).
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// Run with this configuration file (TOML; see --init).
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Check a configuration file and exit (0 = valid, 2 = invalid).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["config", "init", "demo"])]
    pub check_config: Option<PathBuf>,

    /// Write a commented configuration template to FILE and exit.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["config", "demo"])]
    pub init: Option<PathBuf>,

    /// With --init: overwrite an existing file.
    #[arg(long, requires = "init", conflicts_with_all = ["config", "check_config", "demo"])]
    pub force: bool,
}

/// An app's name on its messages, and the ways it ends.
#[derive(Debug, Clone, Copy)]
pub struct App(pub &'static str);

/// A line on stderr that never panics (a full or closed stderr loses it).
pub fn say(line: &str) {
    crate::logging::stderr_line(format_args!("{line}"));
}

impl App {
    /// Print `text` to stdout: exit status 0 when written or when the reader closed the
    /// pipe, 1 with a message for any other write error (e.g. a full disk).
    #[must_use]
    pub fn print(self, text: &str) -> ExitCode {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                say(&format!("{}: cannot write to stdout: {e}", self.0));
                ExitCode::from(1)
            }
        }
    }

    /// `NAME: msg` on stderr and exit status 2 (usage or configuration).
    #[must_use]
    pub fn fail(self, msg: &str) -> ExitCode {
        say(&format!("{}: {msg}", self.0));
        ExitCode::from(2)
    }

    /// `--init FILE [--force]`: write `template` to `path`; `private` (it holds a secret)
    /// makes the file readable by its owner only, warning when that fails.
    ///
    /// # Errors
    /// The exit status after saying why the file was not written.
    pub fn write_template(
        self,
        path: &Path,
        template: &str,
        force: bool,
        private: bool,
    ) -> Result<(), ExitCode> {
        crate::config::write_template(path, template, force)
            .map_err(|e| self.fail(&e.to_string()))?;
        if private {
            self.restrict(path);
        }
        Ok(())
    }

    /// `--init FILE [--force]`: [`App::write_template`], then tell on stdout what to do next
    /// (`secret`: the template holds a fresh random web token, and the file is made private).
    #[must_use]
    pub fn init(self, path: &Path, template: &str, force: bool, secret: bool) -> ExitCode {
        if let Err(code) = self.write_template(path, template, force, secret) {
            return code;
        }
        self.print(&format!(
            "{}: template written{}; edit it, then run {} --check-config {}\n",
            path.display(),
            if secret {
                " (with a random web token)"
            } else {
                ""
            },
            self.0,
            path.display()
        ))
    }

    /// Make the file at `path` readable by its owner only (a warning when that fails).
    fn restrict(self, path: &Path) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
                say(&format!(
                    "{}: warning: cannot make {} private ({e}); it holds the web token",
                    self.0,
                    path.display()
                ));
            }
        }
        #[cfg(not(unix))]
        let _ = path;
    }

    /// Load the configuration at `path` with `load` (the app's read, parse and validate).
    ///
    /// # Errors
    /// The exit status (2) after printing the error.
    pub fn load<S>(
        self,
        path: &Path,
        load: impl FnOnce(&Path) -> Result<S, String>,
    ) -> Result<S, ExitCode> {
        load(path).map_err(|e| self.fail(&e))
    }
}
