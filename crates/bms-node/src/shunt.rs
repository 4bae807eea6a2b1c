//! The VE.Direct SmartShunt (TEXT, receive only, 19200 8N1) over an `embedded-io-async`
//! UART: each checksum-verified record with voltage and current becomes a
//! [`ShuntReading`]. Noise and corrupt blocks are skipped by the decoder (counted there),
//! never an error here.

use embedded_io_async::Read;
use voltwire_bms_rules::ShuntReading;
use voltwire_core::io_async::DecodeReader;
use voltwire_victron::text::{Message, Record, RecordDecoder};

/// The reading of one TEXT record: `None` unless it has the battery voltage and current.
pub fn reading(record: &Record) -> Option<ShuntReading> {
    Some(ShuntReading {
        voltage: record.battery_voltage()?,
        current: record.battery_current()?,
        soc: record.soc(),
    })
}

/// Why the shunt stream stopped.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShuntError<E> {
    /// The UART failed.
    Io(E),
    /// The input ended (a closed stream; never on a real UART).
    Ended,
}

/// A SmartShunt on a UART's receive half `R`.
#[derive(Debug)]
pub struct ShuntLink<'b, R> {
    rx: DecodeReader<'b, R, RecordDecoder>,
}

impl<'b, R: Read> ShuntLink<'b, R> {
    /// Read `rx` through `buf` (64 bytes are plenty).
    pub fn new(rx: R, buf: &'b mut [u8]) -> Self {
        Self {
            rx: DecodeReader::new(rx, RecordDecoder::new(), buf),
        }
    }

    /// The next reading, skipping HEX frames, corrupt blocks and records without voltage
    /// and current.
    ///
    /// # Errors
    /// [`ShuntError`]: the UART's error (calling again retries) or the end of input.
    pub async fn next(&mut self) -> Result<ShuntReading, ShuntError<R::Error>> {
        loop {
            match self.rx.next_item().await.map_err(ShuntError::Io)? {
                None => return Err(ShuntError::Ended),
                Some(item) => {
                    if let Ok(Message::Record(r)) = item.value {
                        if let Some(reading) = reading(&r) {
                            return Ok(reading);
                        }
                    }
                }
            }
        }
    }
}
