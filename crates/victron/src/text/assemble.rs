//! Record assembly: the blocks of one device cycle become one [`Record`].

use voltwire_core::{Located, Progress, StreamDecoder};

use super::TextError;
use super::decoder::{BlockRef, Decoder, Event, MAX_BLOCK_DATA};
use super::label::Label;
use super::record::Record;
use crate::hex;

/// Joins consecutive blocks into records.
///
/// Rules (from the real captures in `testdata/victron/`): a block holding `PID` starts a new
/// record; blocks without `PID` add to the current one (BMV/SmartShunt send a main block and
/// a history block `H1`…`H18`; newer MPPT firmware splits one record over two blocks). A
/// record is complete when a block holds one of the labels that end a cycle (`HSDS` on
/// solar chargers, `H18` on battery monitors), when the next record starts, or at the end
/// of input. Only checksum-valid blocks are ever pushed, so each block of a record was
/// verified on its own.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Default)]
pub struct Assembler {
    /// The record being assembled (valid when `started`), kept in place to avoid moving
    /// ~1.3 KiB per block.
    current: Record,
    current_offset: u64,
    started: bool,
    /// A record finished by the start of the next one, from [`Completed::Done`] until
    /// taken; otherwise empty, ready to be swapped with `current`.
    done: Record,
    ready: Option<Located<Record>>,
    /// A slot lent out by [`RecordDecoder::feed_ref`]: cleared (or, for `ready`, emptied)
    /// at the next call into the assembler, so a lent record is never moved.
    lent: Lent,
}

/// Which record [`RecordDecoder::feed_ref`] lent out last.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Lent {
    #[default]
    Nothing,
    Current,
    Done,
    Ready,
}

/// Where [`Assembler::push_in_place`] left the record a block completed.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Completed {
    /// No record was completed.
    None,
    /// The record in `current` is complete: take it with [`Assembler::take_current_in_place`].
    Current(u64),
    /// The record in `done` is complete: take it with [`Assembler::take_done`].
    Done(u64),
}

impl Assembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    fn take_current(&mut self) -> Option<Located<Record>> {
        if !self.started {
            return None;
        }
        self.started = false;
        Some(Located {
            offset: self.current_offset,
            value: core::mem::take(&mut self.current),
        })
    }

    /// Add a checksum-verified block that started at stream offset `offset`; returns a
    /// record that this block completed (the record's offset is that of its first block).
    /// A second record completed by the same block is returned by [`Assembler::take_ready`].
    pub fn push(&mut self, offset: u64, block: &BlockRef<'_>) -> Option<Located<Record>> {
        match self.push_in_place(offset, block) {
            Completed::None => None,
            Completed::Current(offset) => Some(Located {
                offset,
                value: self.take_current_in_place(),
            }),
            Completed::Done(offset) => Some(Located {
                offset,
                value: self.take_done(),
            }),
        }
    }

    /// [`Assembler::push`] without moving the completed record: it stays where the result
    /// says until taken (before the next push).
    pub(crate) fn push_in_place(&mut self, offset: u64, block: &BlockRef<'_>) -> Completed {
        // A record lent by `feed_ref` was given back by the `RecordDecoder` call that got
        // here (`step`, or `feed` through `take_ready`).
        let mut done = Completed::None;
        if self.started && block.has_pid() {
            // `done` is empty (taken after every push): after the swap, `current` is.
            core::mem::swap(&mut self.current, &mut self.done);
            self.started = false;
            done = Completed::Done(self.current_offset);
        }
        if !self.started {
            self.started = true;
            self.current_offset = offset;
        }
        let mut ends = false;
        for (label, value) in block.fields() {
            match Label::from_text(label) {
                Some(l) => {
                    // Block values are printable ASCII: the decoder rejects anything else.
                    self.current.apply_label(l, label, value, true);
                    ends |= matches!(l, Label::Hsds | Label::H18);
                }
                None => self.current.apply_unknown_printable(label, value),
            }
        }
        if ends {
            if done == Completed::None {
                self.started = false;
                done = Completed::Current(self.current_offset);
            } else {
                self.ready = self.take_current();
            }
        }
        done
    }

    /// The record [`Completed::Current`] pointed at.
    #[inline]
    pub(crate) fn take_current_in_place(&mut self) -> Record {
        core::mem::take(&mut self.current)
    }

    /// The record [`Completed::Done`] pointed at.
    #[inline]
    pub(crate) fn take_done(&mut self) -> Record {
        core::mem::take(&mut self.done)
    }

    /// Give back the record lent by [`RecordDecoder::feed_ref`]: empty its slot in place.
    #[inline]
    fn return_lent(&mut self) {
        if self.lent != Lent::Nothing {
            self.return_lent_slow();
        }
    }

    /// [`Self::return_lent`] once something was lent: out of line, so the owned path
    /// (`feed`) carries one test of it.
    #[inline(never)]
    fn return_lent_slow(&mut self) {
        match core::mem::take(&mut self.lent) {
            Lent::Nothing => {}
            Lent::Current => self.current.clear(),
            Lent::Done => self.done.clear(),
            Lent::Ready => self.ready = None,
        }
    }

    /// A record completed earlier but not yet returned.
    pub fn take_ready(&mut self) -> Option<Located<Record>> {
        self.return_lent();
        self.ready.take()
    }

    /// End of input: the records still being assembled.
    pub fn finish(&mut self) -> Option<Located<Record>> {
        self.return_lent();
        self.ready.take().or_else(|| self.take_current())
    }
}

/// What a VE.Direct stream carries.
///
/// A [`Record`] is about 1.2 KiB and is moved, not boxed: the crate does not allocate.
/// [`RecordDecoder::feed_ref`] lends it instead ([`MessageRef`]), without the moves.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "no_std without alloc: nothing to box into"
)]
#[non_exhaustive]
pub enum Message {
    /// A TEXT record (one or more checksum-verified blocks).
    Record(Record),
    /// A HEX frame with a valid checksum.
    Hex(hex::Frame),
}

/// Why part of a VE.Direct stream was rejected.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A TEXT block was corrupt.
    #[error(transparent)]
    Text(#[from] TextError),
    /// A HEX frame was corrupt.
    #[error(transparent)]
    Hex(#[from] hex::HexError),
}

impl Error {
    /// A short, stable `snake_case` code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Text(e) => e.code(),
            Self::Hex(e) => e.code(),
        }
    }

    /// The coarse class of the error.
    pub fn kind(self) -> voltwire_core::ErrorKind {
        match self {
            Self::Text(e) => e.kind(),
            Self::Hex(e) => e.kind(),
        }
    }
}

/// The whole VE.Direct stream decoder: blocks assembled into [`Record`]s, HEX frames, and
/// errors, as a [`StreamDecoder`] (so also a `tokio_util` codec with feature `tokio-codec`).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Default)]
pub struct RecordDecoder<const N: usize = MAX_BLOCK_DATA> {
    decoder: Decoder<N>,
    assembler: Assembler,
}

impl RecordDecoder {
    /// A fresh decoder with room for any block ([`MAX_BLOCK_DATA`]).
    pub fn new() -> Self {
        Self::default()
    }
}

impl<const N: usize> RecordDecoder<N> {
    /// A fresh decoder with room for `N` bytes of labels and values per block (see
    /// [`Decoder`]).
    pub fn sized() -> Self {
        Self::default()
    }
}

/// Where [`RecordDecoder::step`] left its item: a record stays in the assembler.
enum Slot {
    Current,
    Done,
    Ready,
    Hex(hex::Frame),
}

/// A [`Message`] whose record is lent by the decoder instead of moved out of it: what
/// [`RecordDecoder::feed_ref`] yields.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageRef<'a> {
    /// A TEXT record (one or more checksum-verified blocks), borrowed from the decoder.
    Record(&'a Record),
    /// A HEX frame with a valid checksum (small, so owned).
    Hex(hex::Frame),
}

impl MessageRef<'_> {
    /// The owned [`Message`] (copies the record).
    pub fn into_message(self) -> Message {
        match self {
            Self::Record(r) => Message::Record(r.clone()),
            Self::Hex(f) => Message::Hex(f),
        }
    }
}

impl<const N: usize> RecordDecoder<N> {
    /// One step of [`StreamDecoder::feed`], leaving a completed record where it is.
    #[inline]
    fn step(&mut self, input: &[u8]) -> Progress<Result<Slot, Error>> {
        self.assembler.return_lent();
        if let Some(r) = &self.assembler.ready {
            return Progress {
                consumed: 0,
                item: Some(Located {
                    offset: r.offset,
                    value: Ok(Slot::Ready),
                }),
            };
        }
        let mut consumed = 0;
        while let Some(rest) = input.get(consumed..).filter(|r| !r.is_empty()) {
            let p = self.decoder.feed(rest);
            consumed += p.consumed;
            let Some(Located { offset, value }) = p.item else {
                continue;
            };
            let (offset, value) = match value {
                Event::Block(block) => match self.assembler.push_in_place(offset, &block) {
                    Completed::None => continue,
                    Completed::Current(offset) => (offset, Ok(Slot::Current)),
                    Completed::Done(offset) => (offset, Ok(Slot::Done)),
                },
                Event::Hex(Ok(frame)) => (offset, Ok(Slot::Hex(frame))),
                Event::Hex(Err(e)) => (offset, Err(Error::Hex(e))),
                Event::Error(e) => (offset, Err(Error::Text(e))),
            };
            return Progress {
                consumed,
                item: Some(Located { offset, value }),
            };
        }
        Progress {
            consumed,
            item: None,
        }
    }

    /// [`StreamDecoder::feed`] that lends a completed record instead of moving it out: the
    /// record (about 1.2 KiB) stays in the decoder, borrowed until the next call, which
    /// empties it in place. The same items, offsets and `dropped_bytes` as `feed`; calls of
    /// the two may be mixed.
    pub fn feed_ref(&mut self, input: &[u8]) -> Progress<Result<MessageRef<'_>, Error>> {
        let Progress { consumed, item } = self.step(input);
        let Some(Located { offset, value }) = item else {
            return Progress {
                consumed,
                item: None,
            };
        };
        let a = &mut self.assembler;
        let value = match value {
            Err(e) => Err(e),
            Ok(slot) => {
                a.lent = match slot {
                    Slot::Current => Lent::Current,
                    Slot::Done => Lent::Done,
                    Slot::Ready => Lent::Ready,
                    Slot::Hex(_) => Lent::Nothing,
                };
                match slot {
                    Slot::Current => Ok(MessageRef::Record(&a.current)),
                    Slot::Done => Ok(MessageRef::Record(&a.done)),
                    Slot::Ready => match &a.ready {
                        Some(r) => Ok(MessageRef::Record(&r.value)),
                        None => {
                            return Progress {
                                consumed,
                                item: None,
                            };
                        }
                    },
                    Slot::Hex(frame) => Ok(MessageRef::Hex(frame)),
                }
            }
        };
        Progress {
            consumed,
            item: Some(Located { offset, value }),
        }
    }

    /// [`RecordDecoder::feed_ref`] over a whole buffer, calling `f` for each item (the
    /// lending twin of [`StreamDecoder::feed_all`]).
    pub fn feed_all_ref(
        &mut self,
        mut input: &[u8],
        mut f: impl FnMut(Located<Result<MessageRef<'_>, Error>>),
    ) {
        loop {
            let p = self.feed_ref(input);
            input = input.get(p.consumed..).unwrap_or_default();
            match p.item {
                Some(item) => f(item),
                None if input.is_empty() || p.consumed == 0 => break,
                None => {}
            }
        }
    }
}

impl<const N: usize> StreamDecoder for RecordDecoder<N> {
    type Item = Result<Message, Error>;

    fn feed(&mut self, input: &[u8]) -> Progress<Self::Item> {
        // `take_ready` first empties a record lent by `feed_ref`. This is `step` with each
        // record moved straight into the result (a separate body: smaller on MCUs).
        if let Some(r) = self.assembler.take_ready() {
            return Progress {
                consumed: 0,
                item: Some(Located {
                    offset: r.offset,
                    value: Ok(Message::Record(r.value)),
                }),
            };
        }
        let mut consumed = 0;
        while let Some(rest) = input.get(consumed..).filter(|r| !r.is_empty()) {
            let p = self.decoder.feed(rest);
            consumed += p.consumed;
            let Some(Located { offset, value }) = p.item else {
                continue;
            };
            let value = match value {
                Event::Block(block) => {
                    // Each arm builds the result in one expression, so that the record is
                    // moved once, straight into it.
                    return match self.assembler.push_in_place(offset, &block) {
                        Completed::None => continue,
                        Completed::Current(offset) => Progress {
                            consumed,
                            item: Some(Located {
                                offset,
                                value: Ok(Message::Record(self.assembler.take_current_in_place())),
                            }),
                        },
                        Completed::Done(offset) => Progress {
                            consumed,
                            item: Some(Located {
                                offset,
                                value: Ok(Message::Record(self.assembler.take_done())),
                            }),
                        },
                    };
                }
                Event::Hex(Ok(frame)) => Ok(Message::Hex(frame)),
                Event::Hex(Err(e)) => Err(Error::Hex(e)),
                Event::Error(e) => Err(Error::Text(e)),
            };
            return Progress {
                consumed,
                item: Some(Located { offset, value }),
            };
        }
        Progress {
            consumed,
            item: None,
        }
    }

    fn finish(&mut self) -> Option<Located<Self::Item>> {
        if let Some(r) = self.assembler.take_ready() {
            return Some(Located {
                offset: r.offset,
                value: Ok(Message::Record(r.value)),
            });
        }
        if let Some(Located { offset, value }) = self.decoder.finish() {
            let value = match value {
                Event::Error(e) => Err(Error::Text(e)),
                Event::Hex(Err(e)) => Err(Error::Hex(e)),
                Event::Hex(Ok(f)) => Ok(Message::Hex(f)),
                Event::Block(_) => Err(Error::Text(TextError::Truncated)),
            };
            return Some(Located { offset, value });
        }
        self.assembler.finish().map(|r| Located {
            offset: r.offset,
            value: Ok(Message::Record(r.value)),
        })
    }

    fn dropped_bytes(&self) -> u64 {
        self.decoder.dropped_bytes()
    }
}
