//! One frame on the bus ([`Message`]) and its encoder.

use heapless::Vec;
use voltwire_core::checksum::crc16_modbus;
use voltwire_core::{Emit, EncodeError};

use super::framing::{Kind, classify_preferring};
use super::{BLOCK_LEN, Block, Error, FC_READ, FC_WRITE, Trigger};

/// Most registers one FC 0x10 request carries (byte count is one byte).
pub const MAX_WRITE_REGISTERS: usize = 127;
/// Most data bytes of an FC 0x03 response.
pub const MAX_READ_BYTES: usize = 255;

/// One frame on the JK-PB bus, in either direction.
#[allow(
    clippy::large_enum_variant,
    reason = "no_std without alloc: no Box; one message per frame"
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A `55 AA EB 90` data block (checksum verified).
    Block(Block),
    /// FC 0x10 write request; writing 0x0000 to a [`Trigger`] register asks for a block.
    WriteRequest {
        /// Slave address (DIP switches). Wire: u8 @ 0.
        address: u8,
        /// First register. Wire: u16 BE @ 2.
        register: u16,
        /// Register values. Wire: u16 BE each, after quantity and byte count.
        values: Vec<u16, MAX_WRITE_REGISTERS>,
    },
    /// FC 0x10 acknowledgement (8 bytes; follows a block).
    WriteAck {
        /// Slave address. Wire: u8 @ 0.
        address: u8,
        /// First register. Wire: u16 BE @ 2.
        register: u16,
        /// Registers written. Wire: u16 BE @ 4.
        quantity: u16,
    },
    /// FC 0x03 read request.
    ReadRequest {
        /// Slave address. Wire: u8 @ 0.
        address: u8,
        /// First register. Wire: u16 BE @ 2.
        register: u16,
        /// Registers to read. Wire: u16 BE @ 4.
        quantity: u16,
    },
    /// FC 0x03 read response.
    ReadResponse {
        /// Slave address. Wire: u8 @ 0.
        address: u8,
        /// The data bytes (big-endian registers, so an even count). Wire: byte count @ 2,
        /// data from 3.
        data: Vec<u8, MAX_READ_BYTES>,
    },
    /// Modbus exception response (function code with bit 7 set).
    Exception {
        /// Slave address. Wire: u8 @ 0.
        address: u8,
        /// Function code, with bit 7. Wire: u8 @ 1.
        function: u8,
        /// Exception code. Wire: u8 @ 2.
        code: u8,
    },
}

impl Message {
    /// The trigger request `addr 10 RR RR 00 01 02 00 00 CRC` that makes BMS `address`
    /// answer with a block.
    pub fn trigger(address: u8, trigger: Trigger) -> Self {
        let mut values = Vec::new();
        let _ = values.push(0);
        Self::WriteRequest {
            address,
            register: trigger.register(),
            values,
        }
    }

    /// The trigger this message is, if it is a trigger request.
    pub fn as_trigger(&self) -> Option<Trigger> {
        match self {
            Self::WriteRequest {
                register, values, ..
            } if values.as_slice() == [0] => Trigger::from_register(*register),
            _ => None,
        }
    }

    /// Decode exactly one frame.
    ///
    /// # Errors
    /// Any [`Error`] of [`check`](super::check), or [`Error::NotAFrame`] when `frame` holds more than one
    /// frame.
    pub fn parse(frame: &[u8]) -> Result<Self, Error> {
        let (len, kind) = classify_preferring(frame, Some(frame.len()))?;
        if len != frame.len() {
            return Err(Error::NotAFrame);
        }
        let be = |at: usize| {
            frame
                .get(at..at + 2)
                .and_then(|s| s.try_into().ok())
                .map_or(0, u16::from_be_bytes)
        };
        let byte = |at: usize| frame.get(at).copied().unwrap_or(0);
        Ok(match kind {
            Kind::Block => Self::Block(Block::from_bytes(frame).ok_or(Error::NotAFrame)?),
            Kind::WriteRequest => Self::WriteRequest {
                address: byte(0),
                register: be(2),
                values: frame
                    .get(7..len - 2)
                    .unwrap_or_default()
                    .chunks_exact(2)
                    .filter_map(|c| c.try_into().ok().map(u16::from_be_bytes))
                    .collect(),
            },
            Kind::WriteAck => Self::WriteAck {
                address: byte(0),
                register: be(2),
                quantity: be(4),
            },
            Kind::ReadRequest => Self::ReadRequest {
                address: byte(0),
                register: be(2),
                quantity: be(4),
            },
            Kind::ReadResponse => Self::ReadResponse {
                address: byte(0),
                data: Vec::from_slice(frame.get(3..len - 2).unwrap_or_default())
                    .map_err(|()| Error::NotAFrame)?,
            },
            Kind::Exception => Self::Exception {
                address: byte(0),
                function: byte(1),
                code: byte(2),
            },
        })
    }
}

fn modbus_emit(out: &mut [u8], body: &[u8]) -> Result<usize, EncodeError> {
    let needed = body.len() + 2;
    let have = out.len();
    let out = out
        .get_mut(..needed)
        .ok_or(EncodeError::BufferTooSmall { needed, have })?;
    let (b, crc) = out.split_at_mut(body.len());
    b.copy_from_slice(body);
    crc.copy_from_slice(&crc16_modbus(body).to_le_bytes());
    Ok(needed)
}

impl Emit for Message {
    fn buffer_len(&self) -> usize {
        match self {
            Self::Block(_) => BLOCK_LEN,
            Self::WriteRequest { values, .. } => 9 + 2 * values.len(),
            Self::WriteAck { .. } | Self::ReadRequest { .. } => 8,
            Self::ReadResponse { data, .. } => 5 + data.len(),
            Self::Exception { .. } => 5,
        }
    }

    /// Write the frame: a block as stored (call [`Block::fix_checksum`] first when building
    /// one by hand), Modbus frames with their CRC.
    fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let needed = self.buffer_len();
        let have = out.len();
        if have < needed {
            return Err(EncodeError::BufferTooSmall { needed, have });
        }
        let mut body = [0u8; 7 + 2 * MAX_WRITE_REGISTERS];
        let len = match self {
            Self::Block(b) => {
                out.get_mut(..BLOCK_LEN)
                    .ok_or(EncodeError::BufferTooSmall { needed, have })?
                    .copy_from_slice(&b.0);
                return Ok(BLOCK_LEN);
            }
            Self::WriteRequest {
                address,
                register,
                values,
            } => {
                let n = u8::try_from(values.len())
                    .map_err(|_| EncodeError::OutOfRange { field: "values" })?;
                let [r0, r1] = register.to_be_bytes();
                let head = [*address, FC_WRITE, r0, r1, 0, n, n.wrapping_mul(2)];
                set_slice(&mut body, 0, &head);
                for (i, v) in values.iter().enumerate() {
                    set_slice(&mut body, 7 + 2 * i, &v.to_be_bytes());
                }
                7 + 2 * values.len()
            }
            Self::WriteAck {
                address,
                register,
                quantity,
            } => {
                let [r0, r1] = register.to_be_bytes();
                let [q0, q1] = quantity.to_be_bytes();
                set_slice(&mut body, 0, &[*address, FC_WRITE, r0, r1, q0, q1]);
                6
            }
            Self::ReadRequest {
                address,
                register,
                quantity,
            } => {
                let [r0, r1] = register.to_be_bytes();
                let [q0, q1] = quantity.to_be_bytes();
                set_slice(&mut body, 0, &[*address, FC_READ, r0, r1, q0, q1]);
                6
            }
            Self::ReadResponse { address, data } => {
                let n = u8::try_from(data.len())
                    .ok()
                    .filter(|n| n % 2 == 0)
                    .ok_or(EncodeError::OutOfRange { field: "data" })?;
                set_slice(&mut body, 0, &[*address, FC_READ, n]);
                set_slice(&mut body, 3, data);
                3 + data.len()
            }
            Self::Exception {
                address,
                function,
                code,
            } => {
                if function & 0x80 == 0 {
                    return Err(EncodeError::OutOfRange { field: "function" });
                }
                set_slice(&mut body, 0, &[*address, *function, *code]);
                3
            }
        };
        let body = body
            .get(..len)
            .ok_or(EncodeError::OutOfRange { field: "values" })?;
        modbus_emit(out, body)
    }
}

fn set_slice(b: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(d) = b.get_mut(at..at + bytes.len()) {
        d.copy_from_slice(bytes);
    }
}
