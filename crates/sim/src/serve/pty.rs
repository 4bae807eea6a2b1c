//! A pseudo-terminal in raw mode, served from its master side.

use std::io;
use std::os::fd::OwnedFd;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::termios::{self, FlushArg, SetArg};
use tokio::net::unix::pipe;

/// A pseudo-terminal in raw mode: the master side as a tokio reader and writer (on two
/// descriptors of the one master). The slave stays open here too, so that clients may open
/// and close it as often as they like without hanging up the master.
#[derive(Debug)]
pub struct Pty {
    reader: pipe::Receiver,
    writer: pipe::Sender,
    slave: OwnedFd,
    pub(crate) path: String,
}

impl Pty {
    /// Open a new pseudo-terminal.
    ///
    /// # Errors
    ///
    /// The system's (no ptys left, …).
    pub fn open() -> io::Result<Self> {
        let pty = nix::pty::openpty(None, None).map_err(io::Error::from)?;
        let mut t = termios::tcgetattr(&pty.slave).map_err(io::Error::from)?;
        termios::cfmakeraw(&mut t);
        termios::tcsetattr(&pty.slave, SetArg::TCSANOW, &t).map_err(io::Error::from)?;
        let path = nix::unistd::ttyname(&pty.slave)
            .map_err(io::Error::from)?
            .to_string_lossy()
            .into_owned();
        let flags = fcntl(&pty.master, FcntlArg::F_GETFL).map_err(io::Error::from)?;
        fcntl(
            &pty.master,
            FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
        )
        .map_err(io::Error::from)?;
        // A pty master is not a pipe, but it is a non-blocking character device that epoll
        // handles alike: exactly what the unchecked constructors ask for.
        let writer = pipe::Sender::from_owned_fd_unchecked(pty.master.try_clone()?)?;
        let reader = pipe::Receiver::from_owned_fd_unchecked(pty.master)?;
        Ok(Self {
            reader,
            writer,
            slave: pty.slave,
            path,
        })
    }

    /// The slave's path, for the client to open.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The reader and writer of the master side, and the slave (kept open).
    pub(crate) fn split(self) -> (pipe::Receiver, pipe::Sender, Slave) {
        (self.reader, self.writer, Slave(self.slave))
    }
}

/// The slave side of a [`Pty`], held open while it is served.
#[derive(Debug)]
pub(crate) struct Slave(OwnedFd);

impl Slave {
    /// Drop what the client has not read yet.
    pub(crate) fn discard(&self) {
        let _ = termios::tcflush(&self.0, FlushArg::TCIFLUSH);
    }
}
