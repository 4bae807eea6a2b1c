//! A pair of linked pseudo-terminals opened from Rust: what `socat PTY,raw,echo=0,link=A
//! PTY,raw,echo=0,link=B` gives, without socat.
//!
//! Two ptys are opened with `openpty` (through `nix`, which wraps it safely), their slave
//! sides set raw and reachable through symlinks at the paths the test chose, and a relay
//! thread copies bytes between the two masters. Each slave is also held open by the pair,
//! so a master never sees the hang-up of a side nobody has opened yet. [`PtyPair::kill`]
//! (and drop) stops the relay and closes everything: a link open on either side then reads
//! end of file or an error, and the paths are gone, as when socat is killed.

use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::os::fd::{AsFd as _, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::termios::{self, SetArg};

/// How often the relay looks at its stop flag when no byte moves.
const TICK: u16 = 20;

/// Two linked ptys at chosen paths, relayed both ways; closed on drop.
#[derive(Debug)]
pub struct PtyPair {
    /// The first side (a symlink to its `/dev/pts/N`).
    pub a: PathBuf,
    /// The second side.
    pub b: PathBuf,
    stop: Arc<AtomicBool>,
    relay: Option<JoinHandle<()>>,
}

struct Side {
    master: File,
    _slave: OwnedFd,
    path: PathBuf,
}

fn open_side() -> io::Result<Side> {
    let pty = nix::pty::openpty(None, None).map_err(io::Error::from)?;
    let mut t = termios::tcgetattr(&pty.slave).map_err(io::Error::from)?;
    termios::cfmakeraw(&mut t);
    termios::tcsetattr(&pty.slave, SetArg::TCSANOW, &t).map_err(io::Error::from)?;
    let path = nix::unistd::ttyname(&pty.slave).map_err(io::Error::from)?;
    let flags = fcntl(&pty.master, FcntlArg::F_GETFL).map_err(io::Error::from)?;
    fcntl(
        &pty.master,
        FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
    )
    .map_err(io::Error::from)?;
    Ok(Side {
        master: File::from(pty.master),
        _slave: pty.slave,
        path,
    })
}

impl PtyPair {
    /// Opens the pair and links its two sides at `a` and `b` (replacing what is there).
    ///
    /// # Panics
    /// When the system cannot open a pty (no `/dev/ptmx`) or the links cannot be made; the
    /// message says which.
    pub fn start(a: &Path, b: &Path) -> Self {
        let open = || {
            open_side().unwrap_or_else(|e| {
                panic!("cannot open a pseudo-terminal (openpty: {e}); is /dev/ptmx available?")
            })
        };
        let (sa, sb) = (open(), open());
        for (link, side) in [(a, &sa), (b, &sb)] {
            let _ = std::fs::remove_file(link);
            std::os::unix::fs::symlink(&side.path, link).unwrap_or_else(|e| {
                panic!(
                    "cannot link {} -> {}: {e}",
                    link.display(),
                    side.path.display()
                )
            });
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let relay = std::thread::Builder::new()
            .name("pty-relay".into())
            .spawn(move || relay(sa, sb, &flag))
            .expect("cannot start the pty relay thread");
        Self {
            a: a.to_owned(),
            b: b.to_owned(),
            stop,
            relay: Some(relay),
        }
    }

    /// `serial://PATH?baud=BAUD` for one side.
    pub fn url(p: &Path, baud: u32) -> String {
        format!("serial://{}?baud={baud}", p.display())
    }

    /// Closes both ptys now (the ports vanish) and removes the links.
    pub fn kill(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.relay.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.a);
        let _ = std::fs::remove_file(&self.b);
    }
}

impl Drop for PtyPair {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Copies bytes master a → master b and back until `stop`; closes both ptys when it ends.
fn relay(mut a: Side, mut b: Side, stop: &AtomicBool) {
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        let (ra, rb) = {
            let mut fds = [
                PollFd::new(a.master.as_fd(), PollFlags::POLLIN),
                PollFd::new(b.master.as_fd(), PollFlags::POLLIN),
            ];
            if poll(&mut fds, PollTimeout::from(TICK)).is_err() {
                continue;
            }
            let ready = |fd: &PollFd<'_>| {
                fd.revents()
                    .is_some_and(|r| r.intersects(PollFlags::POLLIN))
            };
            let [fa, fb] = &fds;
            (ready(fa), ready(fb))
        };
        if ra && !copy(&mut a.master, &mut b.master, &mut buf, stop) {
            return;
        }
        if rb && !copy(&mut b.master, &mut a.master, &mut buf, stop) {
            return;
        }
    }
}

/// Moves what `from` has to `to`; false when the relay should end.
fn copy(from: &mut File, to: &mut File, buf: &mut [u8], stop: &AtomicBool) -> bool {
    let n = match from.read(buf) {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
        Err(e) if e.kind() == io::ErrorKind::Interrupted => return true,
        // EIO: the side is being torn down; nothing to move.
        Err(_) => {
            std::thread::sleep(Duration::from_millis(u64::from(TICK)));
            return true;
        }
    };
    let mut data = buf.get(..n).unwrap_or_default();
    while !data.is_empty() {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        match to.write(data) {
            Ok(k) => data = data.get(k..).unwrap_or_default(),
            // The far side's input queue is full: wait for its reader.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return true, // dropped, as a line would
        }
    }
    true
}
