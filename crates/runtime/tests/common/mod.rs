//! Shared test helpers: a socat pty pair that is killed when dropped, and scratch dirs.
#![allow(dead_code, clippy::unwrap_used, clippy::panic, reason = "test code")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A fresh, empty scratch directory for one test.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("voltwire-rt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `socat PTY,link=a PTY,link=b`; killed and reaped on drop.
pub(crate) struct PtyPair {
    child: Child,
    pub(crate) a: PathBuf,
    pub(crate) b: PathBuf,
}

impl PtyPair {
    pub(crate) fn start(a: &Path, b: &Path) -> Self {
        let _ = std::fs::remove_file(a);
        let _ = std::fs::remove_file(b);
        let child = Command::new("socat")
            .arg(format!("PTY,raw,echo=0,link={}", a.display()))
            .arg(format!("PTY,raw,echo=0,link={}", b.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat is installed");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !(a.exists() && b.exists()) {
            assert!(Instant::now() < deadline, "socat did not create the ptys");
            std::thread::sleep(Duration::from_millis(10));
        }
        Self {
            child,
            a: a.to_owned(),
            b: b.to_owned(),
        }
    }

    pub(crate) fn url(p: &Path, baud: u32) -> String {
        format!("serial://{}?baud={baud}", p.display())
    }

    /// Kill socat now (the port vanishes) and wait until its links are gone.
    pub(crate) fn kill(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.a);
        let _ = std::fs::remove_file(&self.b);
    }
}

impl Drop for PtyPair {
    fn drop(&mut self) {
        self.stop();
    }
}
