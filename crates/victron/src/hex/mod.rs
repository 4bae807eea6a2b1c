//! The VE.Direct HEX protocol: frames, requests and responses, registers and history
//! records. `no_std`, no allocation, sans-IO.
//!
//! ```text
//! ':' <command: 1 hex digit> <payload: 2 hex digits per byte> <checksum: 2 hex digits> '\n'
//!
//! Get/Set/Async payload:  register id (un16 LE) | flags (un8) | value (LE, width from the register)
//! checksum: command + Σ payload + checksum ≡ 0x55 (mod 256)
//! ```
//!
//! Layers, each usable on its own:
//!
//! - [`Frame`] (in [`frame`]): one line ↔ command nibble + payload bytes, checksum verified
//!   ([`Frame::parse`]) or computed ([`Frame::emit`]). [`MAX_LINE_LEN`] bounds a line, so the
//!   TEXT stream decoder can buffer a `:`…`\n` run and hand it to [`Frame::parse`].
//! - [`Request`] / [`Response`] (in [`message`]): what a frame means host → device and
//!   device → host, both ways (`from_frame` / `to_frame`), so a host and a device simulator
//!   share the code. [`Message::classify`] reads a frame of unknown direction; frames found
//!   in a device's TEXT stream are responses.
//! - [`register`]: the register table ([`REGISTERS`], [`lookup`]) and typed values
//!   ([`RegisterValue`], [`Reading`]) with exact core units and SI values for the app edge.
//! - [`history`]: the 34-byte [`DayRecord`] and [`TotalRecord`].
//!
//! Panic contract: every function that takes bytes returns for every input without
//! panicking and with bounded work; once [`Frame::parse`] returns `Ok`, the command is a
//! nibble, the payload is at most [`MAX_PAYLOAD_LEN`] bytes and the checksum verified.
//! `emit`/`to_frame` fail only with an [`EncodeError`](voltwire_core::EncodeError): a buffer
//! that is too small, or a value that the wire cannot carry exactly.
//!
//! ```
//! use voltwire_victron::hex::{Frame, Response, RegisterValue};
//!
//! // An asynchronous panel-power notification from a SmartSolar MPPT.
//! let frame = Frame::parse(b":ABCED0045A10000BC\n")?;
//! let Response::Async(data) = Response::from_frame(&frame)? else { unreachable!() };
//! let value = data.decode()?;
//! let reading = value.reading().unwrap();
//! assert_eq!(reading.raw, 41_285); // 0.01 W steps: kept exact
//! assert_eq!((reading.si_value(), reading.si_unit()), (412.85, "W"));
//! # Ok::<(), voltwire_victron::hex::HexError>(())
//! ```

mod error;
pub mod frame;
pub mod history;
pub mod message;
pub mod register;

pub use error::HexError;
pub use frame::{CHECKSUM_TARGET, Frame, MAX_LINE_LEN, MAX_PAYLOAD_LEN, Payload, checksum};
pub use history::{DayRecord, RECORD_LEN, TotalRecord};
pub use message::{
    FirmwareVersion, Flags, MAX_VALUE_LEN, Message, RegisterData, Request, Response, ValueBytes,
};
pub use register::{
    REGISTERS, Reading, RegisterInfo, RegisterValue, Unit, ValueType, lookup, lookup_name,
};
