//! The protocols `voltwire decode` knows.

use voltwire_core::can::CanFrame;

use crate::output::Output;

mod asciihex;
mod daly;
mod jk;
mod jk_pb;
mod meanwell_can;
mod pace;
pub(crate) mod pylontech_can;
mod pylontech_rs485;
mod slcan;
mod vedirect;

/// Options that some protocols use.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// `--command`: the request code responses answer.
    pub(crate) command: Option<u8>,
}

/// One decodable protocol.
pub(crate) struct Protocol {
    /// Name on the command line (`voltwire decode <name>`).
    pub(crate) name: &'static str,
    /// One line for `--list`.
    pub(crate) description: &'static str,
    /// Whether `--command` applies.
    pub(crate) takes_command: bool,
    /// A streaming decoder for this protocol.
    pub(crate) new: fn(&Options) -> Box<dyn Decode>,
    /// Baud rate of a `serial://` source that names none.
    pub(crate) baud: u32,
    /// A CAN protocol: its input is a candump log, or frames from a CAN bus source.
    pub(crate) can: bool,
}

/// A streaming decoder: bytes in as they arrive, JSON Lines out as soon as a message is
/// complete. Memory is bounded whatever the input (at most one frame or line is kept).
pub(crate) trait Decode {
    /// Decode what `chunk` completes; keep a partial frame for the next call.
    fn feed(&mut self, chunk: &[u8], out: &mut Output);
    /// The input has ended: report a cut-off frame, flush what is being assembled.
    fn finish(&mut self, out: &mut Output);
    /// A frame received from a CAN bus (CAN protocols; `index` counts frames from 1).
    fn frame(&mut self, _index: u64, _frame: &CanFrame, _out: &mut Output) {}
    /// How long a live line must stay silent before [`Decode::quiet`] is due: `Some` only
    /// while a message waits for frames that may never come (a Daly multi-frame reply).
    /// Only live sources ask; a file's end is [`Decode::finish`].
    fn quiet_after(&self) -> Option<std::time::Duration> {
        None
    }
    /// The live line stayed silent for [`Decode::quiet_after`]: emit what is being
    /// assembled. Decoding goes on.
    fn quiet(&mut self, _out: &mut Output) {}
    /// What this decoder learned that a later decoder of the same device needs (`poll`
    /// decodes each exchange with a fresh decoder).
    fn context(&self) -> Option<Context> {
        None
    }
    /// Start from what an earlier decoder of the same device learned.
    fn set_context(&mut self, _context: Context) {}
}

/// Device facts one decoder hands to the next ([`Decode::context`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Context {
    /// A Daly BMS's last 0x94 (its address and cell / sensor counts), which sizes its
    /// multi-frame replies.
    DalyStatus(u8, voltwire_daly::StatusInfo),
}

/// A decoder that walks frames in a byte slice, kept as a [`Decode`] by [`Window`].
pub(crate) trait Walk {
    /// Decode the frames of `bytes` (stream offset `base`); returns the bytes done with.
    /// Unless `last`, a frame or line that may still be completed is left (and must be
    /// shorter than the protocol's longest frame, so the window stays bounded); with `last`
    /// everything is consumed.
    fn walk(&mut self, bytes: &[u8], base: u64, last: bool, out: &mut Output) -> usize;
}

/// A [`Walk`] over a window of the stream: the unfinished tail of one chunk is kept and
/// walked again with the next.
pub(crate) struct Window<W> {
    buf: Vec<u8>,
    base: u64,
    walk: W,
}

impl<W> Window<W> {
    pub(crate) const fn new(walk: W) -> Self {
        Self {
            buf: Vec::new(),
            base: 0,
            walk,
        }
    }
}

impl<W> Window<W> {
    /// The walk itself.
    pub(crate) const fn inner(&mut self) -> &mut W {
        &mut self.walk
    }
}

impl<W: Walk> Decode for Window<W> {
    fn feed(&mut self, chunk: &[u8], out: &mut Output) {
        let n = if self.buf.is_empty() {
            // Walk the chunk in place; copy only its tail.
            let n = self
                .walk
                .walk(chunk, self.base, false, out)
                .min(chunk.len());
            self.buf
                .extend_from_slice(chunk.get(n..).unwrap_or_default());
            n
        } else {
            self.buf.extend_from_slice(chunk);
            let n = self
                .walk
                .walk(&self.buf, self.base, false, out)
                .min(self.buf.len());
            self.buf.drain(..n);
            n
        };
        self.base = self.base.saturating_add(n as u64);
    }

    fn finish(&mut self, out: &mut Output) {
        let n = self.walk.walk(&self.buf, self.base, true, out);
        self.base = self.base.saturating_add(n as u64);
        self.buf.clear();
    }
}

/// Every protocol, in `--list` order.
pub(crate) const ALL: &[Protocol] = &[
    Protocol {
        name: "vedirect",
        description: "Victron VE.Direct TEXT blocks (records assembled) with interleaved HEX frames",
        takes_command: false,
        new: vedirect::new,
        baud: 19_200,
        can: false,
    },
    Protocol {
        name: "daly",
        description: "Daly BMS UART/RS485 (0xA5 frames; cell voltages and temperatures assembled)",
        takes_command: false,
        new: daly::new,
        baud: 9_600,
        can: false,
    },
    Protocol {
        name: "jk",
        description: "JK BMS RS485/UART \"4E 57\" protocol (read-all reply typed, write requests)",
        takes_command: false,
        new: jk::new,
        baud: 115_200,
        can: false,
    },
    Protocol {
        name: "jk-pb",
        description: "JK-PB inverter BMS over RS485 (0x55AA/0xEB90 blocks, Modbus requests)",
        takes_command: false,
        new: jk_pb::new,
        baud: 115_200,
        can: false,
    },
    Protocol {
        name: "pace",
        description: "Pace BMS protocol v25 (ASCII-hex ~ frames; --command or request pairing)",
        takes_command: true,
        new: pace::new,
        baud: 9_600,
        can: false,
    },
    Protocol {
        name: "pylontech-rs485",
        description: "Pylontech RS485 (VER 0x20, incl. stack commands 0x60-0x63; --command or request pairing)",
        takes_command: true,
        new: pylontech_rs485::new,
        baud: 9_600,
        can: false,
    },
    Protocol {
        name: "pylontech-can",
        description: "Pylontech LV CAN with SMA/Victron extensions (candump log input)",
        takes_command: false,
        new: pylontech_can::new,
        baud: 115_200,
        can: true,
    },
    Protocol {
        name: "meanwell-can",
        description: "Mean Well BIC-2200 / NPB CAN (candump log input)",
        takes_command: false,
        new: meanwell_can::new,
        baud: 115_200,
        can: true,
    },
    Protocol {
        name: "slcan",
        description: "SLCAN / Lawicel ASCII (commands, replies, t/T/r/R frames)",
        takes_command: false,
        new: slcan::new,
        baud: 115_200,
        can: false,
    },
];

pub(crate) fn find(name: &str) -> Option<&'static Protocol> {
    ALL.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The JSON Lines of `bytes` decoded as `protocol`, fed `chunk` bytes at a time.
    fn decode(protocol: &Protocol, bytes: &[u8], chunk: usize) -> String {
        let sink = Shared::default();
        let mut out = Output::to(protocol.name, Box::new(sink.clone()));
        let mut d = (protocol.new)(&Options::default());
        for c in bytes.chunks(chunk) {
            d.feed(c, &mut out);
        }
        d.finish(&mut out);
        out.flush();
        drop(out);
        let text = sink.0.lock().unwrap().clone();
        String::from_utf8(text).unwrap()
    }

    /// Every capture in `testdata/`, decoded whole and in pieces of 1, 7 and 300 bytes,
    /// gives the same lines: the decoders keep partial frames across chunks.
    #[test]
    fn chunking_changes_nothing() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata");
        let dirs = [
            ("victron", "vedirect"),
            ("daly", "daly"),
            ("jk", "jk"),
            ("pace", "pace"),
            ("pylontech/rs485", "pylontech-rs485"),
            ("pylontech/can", "pylontech-can"),
            ("meanwell", "meanwell-can"),
            ("slcan", "slcan"),
        ];
        let mut checked = 0;
        for (dir, name) in dirs {
            let p = find(name).unwrap();
            for e in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
                let path = e.unwrap().path();
                let ext = path.extension().and_then(|x| x.to_str()).unwrap_or("");
                if !matches!(ext, "bin" | "log") {
                    continue;
                }
                let bytes = std::fs::read(&path).unwrap();
                let mut protocols = vec![p];
                if name == "jk" {
                    protocols.push(find("jk-pb").unwrap());
                }
                for p in protocols {
                    let whole = decode(p, &bytes, usize::MAX);
                    for chunk in [1, 7, 300] {
                        assert_eq!(
                            decode(p, &bytes, chunk),
                            whole,
                            "{} as {} in chunks of {chunk}",
                            path.display(),
                            p.name
                        );
                    }
                    checked += usize::from(!whole.is_empty());
                }
            }
        }
        assert!(checked > 40, "only {checked} captures decoded");
    }
}
