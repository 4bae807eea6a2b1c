//! Helpers shared by the `voltwire sim` tests: start a simulator, read its port with a
//! deadline, open its pty.

#![allow(dead_code, reason = "each test file uses a subset")]

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `voltwire sim`, killed on drop.
pub(crate) struct Sim {
    pub(crate) child: Child,
    pub(crate) listening: String,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `voltwire sim ARGS` and read the address it prints.
pub(crate) fn sim(args: &[&str]) -> Sim {
    let mut child = Command::new(env!("CARGO_BIN_EXE_voltwire"))
        .arg("sim")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("first line {line:?} is not JSON: {e}"));
    let listening = v["listening"].as_str().unwrap().to_owned();
    Sim { child, listening }
}

/// A bound no healthy run comes near, however loaded the machine: the tests wait for what
/// must arrive and then assert its order and content, not its speed.
pub(crate) const EVENTUALLY: Duration = Duration::from_secs(10);

/// Bytes read from `r` by a thread, so that the test can wait with a deadline. The thread
/// ends at EOF, on an error, or (for a pty opened by [`open_pty`], whose reads time out)
/// soon after the receiver is dropped.
pub(crate) fn reader(r: impl std::io::Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    reader_thread(r).0
}

/// [`reader`], with the thread's handle: join it (after dropping the receiver) to know that
/// it no longer reads, e.g. before the same pty is opened again.
pub(crate) fn reader_thread(
    mut r: impl std::io::Read + Send + 'static,
) -> (mpsc::Receiver<Vec<u8>>, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = r.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
            if n == 0 {
                // A pty read timeout, or TCP EOF.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    });
    (rx, handle)
}

/// Bytes from `rx` until `enough` says they are (it sees everything received so far);
/// panics, showing what came, if that takes longer than [`EVENTUALLY`].
pub(crate) fn collect_until(
    rx: &mpsc::Receiver<Vec<u8>>,
    mut enough: impl FnMut(&[u8]) -> bool,
) -> Vec<u8> {
    let end = Instant::now() + EVENTUALLY;
    let mut all = Vec::new();
    while !enough(&all) {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(b) => all.extend_from_slice(&b),
            Err(e) => panic!(
                "{e:?} after {EVENTUALLY:?}, with {} bytes: {:?}",
                all.len(),
                String::from_utf8_lossy(&all)
            ),
        }
    }
    all
}

/// Everything that arrives within `d` (for asserting that nothing does).
pub(crate) fn collect(rx: &mpsc::Receiver<Vec<u8>>, d: Duration) -> Vec<u8> {
    let end = Instant::now() + d;
    let mut all = Vec::new();
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(b) => all.extend_from_slice(&b),
            Err(mpsc::RecvTimeoutError::Timeout) => break,
            // EOF: keep the deadline.
            Err(mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(left),
        }
    }
    all
}

/// Open the simulator's pty (raw, no controlling tty) with reads that time out after
/// 0.1 s (VMIN 0, VTIME 1), so that reader threads notice when they are no longer wanted.
pub(crate) fn open_pty(path: &str) -> File {
    use nix::sys::termios::{self, SetArg, SpecialCharacterIndices as I};
    use std::os::unix::fs::OpenOptionsExt as _;
    assert!(path.starts_with("/dev/pts/"), "{path}");
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::fcntl::OFlag::O_NOCTTY.bits())
        .open(path)
        .unwrap();
    let mut t = termios::tcgetattr(&f).unwrap();
    termios::cfmakeraw(&mut t);
    t.control_chars[I::VMIN as usize] = 0;
    t.control_chars[I::VTIME as usize] = 1;
    termios::tcsetattr(&f, SetArg::TCSANOW, &t).unwrap();
    f
}
