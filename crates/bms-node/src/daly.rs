//! The Daly BMS over an `embedded-io-async` UART (9600 8N1): one poll is four reads (pack
//! status, cell range, temperatures, MOSFETs), then a charge-MOSFET write when the rules
//! want it changed.
//!
//! No timer lives here: a silent BMS makes [`DalyLink::poll`] wait for ever, so the caller
//! bounds every poll with its own timeout (the firmware: `embassy_time::with_timeout`). The
//! reader is cancel-safe (a cancelled poll loses no decoded frame), and a late answer to a
//! cancelled request is skipped by command.

use embedded_io_async::{Read, Write};
use voltwire_bms_rules::BmsReading;
use voltwire_core::io_async::DecodeReader;
use voltwire_daly::{Command, Decoder, FRAME_LEN, RawFrame, Request, Response, Variant};

/// At most this many frames are read while waiting for one answer (other commands' late
/// answers, corrupt frames); then the poll gives up as unanswered.
pub const MAX_SKIPPED: usize = 16;

/// Why a poll or a write got no usable answer.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DalyError<RE, WE> {
    /// The UART's receive half failed.
    Read(RE),
    /// The UART's transmit half failed.
    Write(WE),
    /// The input ended (a closed stream; never on a real UART).
    Ended,
    /// No answer to `command` among [`MAX_SKIPPED`] frames, or one that did not parse.
    Unanswered {
        /// The command that got no usable answer.
        command: u8,
    },
}

/// A Daly BMS on a UART: receive half `R`, transmit half `W`.
#[derive(Debug)]
pub struct DalyLink<'b, R, W> {
    rx: DecodeReader<'b, R, Decoder>,
    tx: W,
    variant: Variant,
    we_turned_off: bool,
}

impl<'b, R: Read, W: Write> DalyLink<'b, R, W> {
    /// A link over `rx`/`tx` for board `variant` (use [`Variant::UART`] for the UART port),
    /// reading through `buf` (64 bytes are plenty).
    pub fn new(rx: R, tx: W, variant: Variant, buf: &'b mut [u8]) -> Self {
        Self {
            rx: DecodeReader::new(rx, Decoder::new(), buf),
            tx,
            variant,
            we_turned_off: false,
        }
    }

    async fn request(
        &mut self,
        req: Request,
        command: Command,
    ) -> Result<RawFrame, DalyError<R::Error, W::Error>> {
        let mut frame = [0u8; FRAME_LEN];
        let n = req
            .emit(self.variant.host_address, &mut frame)
            .map_err(|_| DalyError::Unanswered { command: command.0 })?;
        self.tx
            .write_all(frame.get(..n).unwrap_or_default())
            .await
            .map_err(DalyError::Write)?;
        self.tx.flush().await.map_err(DalyError::Write)?;
        for _ in 0..MAX_SKIPPED {
            match self.rx.next_item().await.map_err(DalyError::Read)? {
                None => return Err(DalyError::Ended),
                Some(item) => {
                    if let Ok(f) = item.value {
                        if f.command == command.0 && !f.is_request() {
                            return Ok(f);
                        }
                    }
                }
            }
        }
        Err(DalyError::Unanswered { command: command.0 })
    }

    async fn read(&mut self, command: Command) -> Result<Response, DalyError<R::Error, W::Error>> {
        let frame = self.request(Request::read(command), command).await?;
        Response::parse(&frame, &self.variant)
            .map_err(|_| DalyError::Unanswered { command: command.0 })
    }

    /// One poll: the reading and the charge-MOSFET state the BMS reports (`None` when the
    /// MOSFET read went unanswered). Pack status and cell range are required; a missing
    /// temperature leaves `temp_max` empty.
    ///
    /// # Errors
    /// [`DalyError`]: a UART half's error, the end of input, or a required read unanswered.
    pub async fn poll(
        &mut self,
    ) -> Result<(BmsReading, Option<bool>), DalyError<R::Error, W::Error>> {
        let Response::PackStatus(pack) = self.read(Command::PACK_STATUS).await? else {
            return Err(DalyError::Unanswered {
                command: Command::PACK_STATUS.0,
            });
        };
        let Response::CellVoltageRange(cells) = self.read(Command::CELL_VOLTAGE_RANGE).await?
        else {
            return Err(DalyError::Unanswered {
                command: Command::CELL_VOLTAGE_RANGE.0,
            });
        };
        let temp = match self.read(Command::TEMPERATURE_RANGE).await {
            Ok(Response::TemperatureRange(t)) => Some(t.max),
            Err(e @ (DalyError::Read(_) | DalyError::Write(_) | DalyError::Ended)) => {
                return Err(e);
            }
            _ => None,
        };
        let mosfet = match self.read(Command::MOSFET_STATUS).await {
            Ok(Response::MosfetStatus(m)) => Some(m.charge_mosfet.0 != 0),
            Err(e @ (DalyError::Read(_) | DalyError::Write(_) | DalyError::Ended)) => {
                return Err(e);
            }
            _ => None,
        };
        Ok((
            BmsReading {
                pack: pack.voltage,
                current: pack.current,
                soc: pack.soc,
                cell_min: cells.min,
                cell_max: cells.max,
                temp_max: temp,
            },
            mosfet,
        ))
    }

    /// Make the charge MOSFET follow `want` given what the BMS `reported`: switched off
    /// whenever the rules ask; switched back on only if this link switched it off, so the
    /// BMS's own decisions are never overridden. Returns whether a write was acknowledged.
    ///
    /// # Errors
    /// [`DalyError`]: a UART half's error, the end of input, or the write unanswered.
    pub async fn follow_charge_mosfet(
        &mut self,
        want: bool,
        reported: Option<bool>,
    ) -> Result<bool, DalyError<R::Error, W::Error>> {
        let Some(reported) = reported else {
            return Ok(false);
        };
        if reported == want || (want && !self.we_turned_off) {
            return Ok(false);
        }
        self.request(Request::ChargeMosfet { on: want }, Command::CHARGE_MOSFET)
            .await?;
        self.we_turned_off = !want;
        Ok(true)
    }
}
