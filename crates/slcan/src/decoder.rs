//! The streaming, resynchronising line decoder, for either role.
//!
//! ```text
//!  host -> adapter:  S5\r  O\r  t1232AA55\r  T12ABCDEF2AA55\r  ...
//!  adapter -> host:  \r (OK)  \x07 (error)  t1232AA55[tttt]\r  z\r  V1013\r  ...
//! ```
//!
//! Each byte is read once into a fixed line buffer of [`MAX_LINE`] bytes. A CR ends a line;
//! on the host side a BEL is a complete error reply by itself. A byte that cannot be part of
//! a line (not printable ASCII, or LF) drops the partial line as noise; so does a line longer
//! than [`MAX_LINE`]. When a line does not parse, a frame line starting later in it
//! (`garbage t1230\r`) is still recovered. Malformed lines are error items; decoding goes on.

use core::marker::PhantomData;

use voltwire_core::{Located, Progress, StreamDecoder};

use crate::{Command, Error, FrameLine, MAX_LINE, Response};

/// Which side of the link the decoder reads.
pub trait Role {
    /// What the decoder yields on success.
    type Message: Copy;
    /// Parse one line (without its CR).
    ///
    /// # Errors
    /// When the line is malformed.
    fn parse(line: &[u8]) -> Result<Self::Message, Error>;
    /// The message a lone BEL stands for, if the role has one.
    fn bel() -> Option<Self::Message>;
    /// Wrap a frame line recovered from the tail of a bad line.
    fn frame(f: FrameLine) -> Self::Message;
    /// Whether the message is an unrecognised line (worth a frame-recovery attempt).
    fn is_unknown(m: &Self::Message) -> bool;
}

/// The host's view: reads what the adapter sends ([`Response`]s).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Host;

/// The adapter's view: reads what the host sends ([`Command`]s).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Adapter;

impl Role for Host {
    type Message = Response;

    fn parse(line: &[u8]) -> Result<Response, Error> {
        Response::parse(line)
    }

    fn bel() -> Option<Response> {
        Some(Response::Error)
    }

    fn frame(f: FrameLine) -> Response {
        Response::Frame(f)
    }

    fn is_unknown(m: &Response) -> bool {
        matches!(m, Response::Unknown(_))
    }
}

impl Role for Adapter {
    type Message = Command;

    fn parse(line: &[u8]) -> Result<Command, Error> {
        Command::parse(line)
    }

    fn bel() -> Option<Command> {
        None
    }

    fn frame(f: FrameLine) -> Command {
        Command::Transmit(f)
    }

    fn is_unknown(m: &Command) -> bool {
        matches!(m, Command::Unknown(_))
    }
}

/// A streaming SLCAN decoder for one [`Role`]; about 60 bytes of state.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone)]
pub struct Decoder<R> {
    buf: [u8; MAX_LINE],
    len: usize,
    overflow: bool,
    line_start: u64,
    pos: u64,
    dropped: u64,
    _role: PhantomData<fn() -> R>,
}

/// Used by a host: decodes adapter output into [`Response`]s.
pub type HostDecoder = Decoder<Host>;

/// Used by an adapter (or a simulator of one): decodes host output into [`Command`]s.
pub type AdapterDecoder = Decoder<Adapter>;

impl<R> Default for Decoder<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R> Decoder<R> {
    /// A fresh decoder.
    pub const fn new() -> Self {
        Self {
            buf: [0; MAX_LINE],
            len: 0,
            overflow: false,
            line_start: 0,
            pos: 0,
            dropped: 0,
            _role: PhantomData,
        }
    }

    fn drop_partial(&mut self, extra: u64) {
        self.dropped = self
            .dropped
            .saturating_add(self.len as u64)
            .saturating_add(extra);
        self.len = 0;
        self.overflow = false;
    }
}

impl<R: Role> Decoder<R> {
    fn complete_line(&mut self) -> Located<Result<R::Message, Error>> {
        let line = self.buf.get(..self.len).unwrap_or_default();
        let mut offset = self.line_start;
        let mut value = R::parse(line);
        if value.as_ref().map_or(true, R::is_unknown) {
            // Retry from each later frame-line start inside the bad line.
            let recovered = (1..line.len()).find_map(|k| {
                let tail = line.get(k..)?;
                match tail.first() {
                    Some(b't' | b'T' | b'r' | b'R') => FrameLine::parse(tail).ok().map(|f| (k, f)),
                    _ => None,
                }
            });
            if let Some((k, f)) = recovered {
                self.dropped = self.dropped.saturating_add(k as u64);
                offset = offset.saturating_add(k as u64);
                value = Ok(R::frame(f));
            }
        }
        self.len = 0;
        Located { offset, value }
    }
}

impl<R: Role> StreamDecoder for Decoder<R> {
    type Item = Result<R::Message, Error>;

    fn feed(&mut self, input: &[u8]) -> Progress<Self::Item> {
        for (i, &b) in input.iter().enumerate() {
            let at = self.pos;
            self.pos = self.pos.saturating_add(1);
            match b {
                b'\r' if self.overflow => self.drop_partial(1),
                b'\r' => {
                    if self.len == 0 {
                        self.line_start = at;
                    }
                    return Progress {
                        consumed: i + 1,
                        item: Some(self.complete_line()),
                    };
                }
                0x07 => match R::bel() {
                    Some(m) => {
                        self.drop_partial(0);
                        return Progress {
                            consumed: i + 1,
                            item: Some(Located {
                                offset: at,
                                value: Ok(m),
                            }),
                        };
                    }
                    None => self.drop_partial(1),
                },
                0x20..=0x7E if self.overflow => self.dropped = self.dropped.saturating_add(1),
                0x20..=0x7E => {
                    if self.len == 0 {
                        self.line_start = at;
                    }
                    if let Some(slot) = self.buf.get_mut(self.len) {
                        *slot = b;
                        self.len += 1;
                    } else {
                        self.drop_partial(1);
                        self.overflow = true;
                    }
                }
                _ => self.drop_partial(1),
            }
        }
        Progress {
            consumed: input.len(),
            item: None,
        }
    }

    fn finish(&mut self) -> Option<Located<Self::Item>> {
        self.drop_partial(0);
        None
    }

    fn dropped_bytes(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
#[allow(clippy::std_instead_of_alloc, reason = "test code")]
mod tests {
    use super::*;
    use crate::CanFrame;

    type Got<M> = std::vec::Vec<(u64, Result<M, Error>)>;

    fn run<R: Role>(input: &[u8], chunk: usize) -> (Got<R::Message>, u64) {
        let mut d = Decoder::<R>::new();
        let mut got = std::vec::Vec::new();
        for c in input.chunks(chunk.max(1)) {
            d.feed_all(c, |l| got.push((l.offset, l.value)));
        }
        d.finish();
        (got, d.dropped_bytes())
    }

    #[test]
    fn python_can_open_sequence() {
        // What python-can 4.6.1 writes on open, then a frame.
        let s = b"C\rS5\r\rO\rO\rt1232AA55\r";
        for chunk in 1..=s.len() {
            let (got, dropped) = run::<Adapter>(s, chunk);
            let cmds: std::vec::Vec<_> = got.into_iter().map(|(_, c)| c.unwrap()).collect();
            assert_eq!(
                cmds,
                [
                    Command::Close,
                    Command::Bitrate(5),
                    Command::Empty,
                    Command::Open,
                    Command::Open,
                    Command::Transmit(CanFrame::standard(0x123, &[0xAA, 0x55]).unwrap().into()),
                ]
            );
            assert_eq!(dropped, 0);
        }
    }

    #[test]
    fn host_side_resync() {
        let s = b"\x00\xFFt1230\r\x07garbage\nT12ABCDEF2AA55\rxxt4561FF\r";
        let (got, dropped) = run::<Host>(s, 3);
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0].0, 2);
        assert_eq!(got[1].1, Ok(Response::Error));
        let Ok(Response::Frame(f)) = got[3].1 else {
            panic!("{got:?}")
        };
        assert_eq!(f.frame.id(), 0x456);
        assert_eq!(got[3].0, 34);
        assert_eq!(dropped, 2 + 8 + 2);
    }

    #[test]
    fn overlong_line_is_noise() {
        let mut s = std::vec![b'x'; 100];
        s.extend_from_slice(b"\rt1230\r");
        let (got, dropped) = run::<Host>(&s, 7);
        assert_eq!(got.len(), 1);
        assert_eq!(dropped, 101);
    }
}
