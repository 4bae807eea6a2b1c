//! The BMS protocols behind one shape ([`BmsProtocol`]): a poll that turns the pack's
//! replies into a [`Polled`] reading and, where the protocol has one, the charge-MOSFET write.
//! The loop around them (reconnect, poll period, the MOSFET rule) is
//! [`crate::sources::bms`], shared by every kind.
//!
//! | kind | poll | charge-MOSFET state | write |
//! |---|---|---|---|
//! | [`Daly`] | 0x90 pack, 0x91 cells, 0x92 temperatures, 0x93 MOSFETs | 0x93 | 0xDA |
//! | [`Pace`] | 0x42 analog, 0x44 status | 0x44 system flags | 0x9A |
//! | [`Pylontech`] | 0x42 analog | — | — (read only) |
//! | [`Jk`] (4E 57) | read all (0x06) | status (0x8C) bit 0 | write ID 0xAB (charge switch) |
//! | [`JkPb`] | status trigger (0x1620) → status block | status block byte 198 | FC 0x10 to 0x1070 (charge enable) |

use std::future::Future;

use tokio::io::{AsyncRead, AsyncWrite};
use voltwire_bms_rules::BmsReading;
use voltwire_core::{DeciCelsius, Emit as _, Millivolts, Permille, StreamDecoder};
use voltwire_runtime::poll::{PollError, Poller};

/// What one poll read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Polled {
    /// The reading for the rules.
    pub reading: BmsReading,
    /// The charge-MOSFET state the BMS reports (`None`: not reported by this protocol or
    /// not in this reply).
    pub charge_mosfet: Option<bool>,
    /// The names of the BMS's active alarm / warning bits (`None`: not read by this kind).
    pub alarms: Option<Vec<&'static str>>,
}

/// A link the pollers run on.
pub trait Link: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Link for T {}

/// The poller of protocol `B` on link `L`.
pub type BmsPoller<L, B> = Poller<L, <B as BmsProtocol>::Decoder>;

/// One BMS protocol on an open link.
pub trait BmsProtocol: Send + 'static {
    /// The stream decoder of the replies (a fresh one, `Default`, for each new link).
    type Decoder: StreamDecoder<Item: Send> + Default + Send + 'static;
    /// The kind's name in logs (`daly`, `jk-pb`, …).
    const NAME: &'static str;
    /// Whether [`BmsProtocol::write_charge_mosfet`] does anything.
    const WRITES_MOSFET: bool;

    /// One poll. A reply that is missing or not understood is [`PollError::Timeout`] (no
    /// answer); [`PollError::is_link_error`] means the link is gone.
    fn poll<L: Link>(
        &mut self,
        p: &mut BmsPoller<L, Self>,
    ) -> impl Future<Output = Result<Polled, PollError>> + Send;

    /// Switch the charge MOSFET; `Ok` when the BMS acknowledged it. The poll after it reads
    /// the state back either way.
    fn write_charge_mosfet<L: Link>(
        &mut self,
        p: &mut BmsPoller<L, Self>,
        on: bool,
    ) -> impl Future<Output = Result<(), PollError>> + Send;
}

/// "No answer": what a poll returns for a reply it cannot use.
const fn no_answer() -> PollError {
    PollError::Timeout { attempts: 0 }
}

/// Remaining / total as a state of charge (0–100.0 %); `None` for a total ≤ 0.
fn soc_of(remaining: i64, total: i64) -> Option<Permille> {
    if total <= 0 {
        return None;
    }
    let pm = remaining.saturating_mul(1000) / total;
    Some(Permille(i16::try_from(pm.clamp(0, 1000)).unwrap_or(1000)))
}

/// The lowest and highest of `cells`.
fn extremes(cells: impl Iterator<Item = Millivolts>) -> Option<(Millivolts, Millivolts)> {
    cells.fold(None, |acc, c| match acc {
        None => Some((c, c)),
        Some((lo, hi)) => Some((lo.min(c), hi.max(c))),
    })
}

/// A Pace or Pylontech module's analog block (0x42) as a reading: cell extremes, SOC =
/// remaining / total capacity (the wide fields when the block carries them), the highest of
/// the cell temperatures at `cell_temps`; `None` without cells or with no total capacity.
fn analog_reading<D: voltwire_asciihex::block::Dialect>(
    m: &voltwire_asciihex::block::Analog<D>,
    cell_temps: core::ops::Range<usize>,
) -> Option<BmsReading> {
    let (cell_min, cell_max) = extremes(m.cells.iter().copied())?;
    Some(BmsReading {
        pack: m.voltage,
        current: m.current,
        soc: soc_of(m.remaining().0, m.total().0)?,
        cell_min,
        cell_max,
        temp_max: cell_temps.filter_map(|i| m.temperature_celsius(i)).max(),
    })
}

// ---------------------------------------------------------------------------------------
// Daly

/// Daly (UART or RS485 board).
#[derive(Debug, Clone, Copy)]
pub struct Daly {
    /// Board variant (current sign, host address).
    pub variant: voltwire_daly::Variant,
}

impl Daly {
    fn frame(self, req: voltwire_daly::Request) -> Vec<u8> {
        let mut buf = [0u8; voltwire_daly::FRAME_LEN];
        match req.emit(self.variant.host_address, &mut buf) {
            Ok(n) => buf.get(..n).map(<[u8]>::to_vec).unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    async fn read<L: Link>(
        &self,
        p: &mut BmsPoller<L, Self>,
        command: voltwire_daly::Command,
    ) -> Result<voltwire_daly::Response, PollError> {
        use voltwire_daly::{Request, Response};
        let req = self.frame(Request::read(command));
        let item = p
            .request(&req, |i| i.as_ref().is_ok_and(|f| f.command == command.0))
            .await?;
        // A reply we cannot give a meaning (a value out of range) is no answer, not a lost
        // link: it comes back as `Other` and the poll skips it.
        Ok(match item {
            Ok(f) => Response::parse(&f, &self.variant).unwrap_or_else(|e| {
                tracing::debug!(error = %e, "daly: reply not understood");
                Response::Other {
                    command: voltwire_daly::Command(f.command),
                    data: f.data,
                }
            }),
            Err(_) => Response::Other {
                command,
                data: [0; 8],
            },
        })
    }
}

impl BmsProtocol for Daly {
    type Decoder = voltwire_daly::Decoder;
    const NAME: &'static str = "daly";
    const WRITES_MOSFET: bool = true;

    /// Pack status, cell range, temperatures, MOSFETs. A missing or not understood pack
    /// status or cell range makes the whole poll "no answer"; temperatures and MOSFETs are
    /// optional.
    async fn poll<L: Link>(&mut self, p: &mut BmsPoller<L, Self>) -> Result<Polled, PollError> {
        use voltwire_daly::{Command, Response};
        let Response::PackStatus(pack) = self.read(p, Command::PACK_STATUS).await? else {
            return Err(no_answer());
        };
        let Response::CellVoltageRange(cells) = self.read(p, Command::CELL_VOLTAGE_RANGE).await?
        else {
            return Err(no_answer());
        };
        let temp = match self.read(p, Command::TEMPERATURE_RANGE).await {
            Ok(Response::TemperatureRange(t)) => Some(t.max),
            Err(e) if e.is_link_error() => return Err(e),
            _ => None,
        };
        let mosfet = match self.read(p, Command::MOSFET_STATUS).await {
            Ok(Response::MosfetStatus(m)) => Some(m.charge_mosfet.0 != 0),
            Err(e) if e.is_link_error() => return Err(e),
            _ => None,
        };
        Ok(Polled {
            reading: BmsReading {
                pack: pack.voltage,
                current: pack.current,
                soc: pack.soc,
                cell_min: cells.min,
                cell_max: cells.max,
                temp_max: temp,
            },
            charge_mosfet: mosfet,
            alarms: None,
        })
    }

    async fn write_charge_mosfet<L: Link>(
        &mut self,
        p: &mut BmsPoller<L, Self>,
        on: bool,
    ) -> Result<(), PollError> {
        let req = self.frame(voltwire_daly::Request::ChargeMosfet { on });
        let cmd = voltwire_daly::Command::CHARGE_MOSFET.0;
        p.request(&req, |i| i.as_ref().is_ok_and(|f| f.command == cmd))
            .await
            .map(drop)
    }
}

// ---------------------------------------------------------------------------------------
// Pace

/// A Pace pack (RS485, protocol v25) at `address`.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// ADR (0–15; 1 on a lone pack).
    pub address: u8,
}

impl Pace {
    /// One request and its decoded reply (a frame that does not answer it, or a refusal,
    /// is no answer).
    async fn request<L: Link>(
        &self,
        p: &mut BmsPoller<L, Self>,
        body: voltwire_pace::RequestBody,
    ) -> Result<voltwire_pace::ResponseBody, PollError> {
        let adr = self.address;
        let req = voltwire_pace::Request::new(adr, body);
        let frame = req.to_frame().map_err(|_| no_answer())?;
        let command = req.command();
        let item = p
            .request(&frame.to_bytes(), |i| {
                i.as_ref().is_ok_and(|f| f.adr == adr)
            })
            .await?;
        let f = item.map_err(|_| no_answer())?;
        let r = voltwire_pace::Response::from_frame(&f, command);
        if r.answers(&req) {
            Ok(r.body)
        } else {
            tracing::debug!(rtn = ?r.rtn, "pace: reply does not answer the request");
            Err(no_answer())
        }
    }
}

impl BmsProtocol for Pace {
    type Decoder = voltwire_asciihex::Decoder;
    const NAME: &'static str = "pace";
    const WRITES_MOSFET: bool = true;

    /// Analog values (0x42) and status (0x44, for the charge MOSFET) of one pack.
    async fn poll<L: Link>(&mut self, p: &mut BmsPoller<L, Self>) -> Result<Polled, PollError> {
        use voltwire_pace::{RequestBody, ResponseBody, Target, flags::System};
        let adr = self.address;
        let ResponseBody::Analog(a) = self
            .request(p, RequestBody::Analog(Target::Pack(adr)))
            .await?
        else {
            return Err(no_answer());
        };
        // The last two temperatures are the MOSFET's and the environment's; the others the
        // cells'.
        let pack = a.modules.first().ok_or_else(no_answer)?;
        let cell_temps = 0..pack.temperatures.len().saturating_sub(2).max(1);
        let reading = analog_reading(pack, cell_temps).ok_or_else(no_answer)?;
        let mosfet = match self
            .request(p, RequestBody::Status(Target::Pack(adr)))
            .await
        {
            Ok(ResponseBody::Status(s)) => s
                .modules
                .first()
                .map(|m| m.state.system.contains(System::CHARGE_FET_ON)),
            Err(e) if e.is_link_error() => return Err(e),
            _ => None,
        };
        Ok(Polled {
            reading,
            charge_mosfet: mosfet,
            alarms: None,
        })
    }

    async fn write_charge_mosfet<L: Link>(
        &mut self,
        p: &mut BmsPoller<L, Self>,
        on: bool,
    ) -> Result<(), PollError> {
        use voltwire_pace::{MosfetSwitch, RequestBody};
        let switch = if on {
            MosfetSwitch::On
        } else {
            MosfetSwitch::Off
        };
        self.request(p, RequestBody::ChargeMosfet(switch))
            .await
            .map(drop)
    }
}

// ---------------------------------------------------------------------------------------
// Pylontech RS485

/// A Pylontech module over RS485 at `address` (read only: the protocol has no
/// charge-MOSFET command).
#[derive(Debug, Clone, Copy)]
pub struct Pylontech {
    /// ADR (2 for the first module).
    pub address: u8,
}

impl BmsProtocol for Pylontech {
    type Decoder = voltwire_asciihex::Decoder;
    const NAME: &'static str = "pylontech";
    const WRITES_MOSFET: bool = false;

    /// One 0x42 request and the module's analog block.
    async fn poll<L: Link>(&mut self, p: &mut BmsPoller<L, Self>) -> Result<Polled, PollError> {
        use voltwire_pylontech::rs485::{Request, RequestBody, Response, ResponseBody, Target};
        let adr = self.address;
        let req = Request::new(adr, RequestBody::Analog(Target::Module(adr)));
        let frame = req.to_frame().map_err(|_| no_answer())?;
        let item = p
            .request(&frame.to_bytes(), |i| {
                i.as_ref().is_ok_and(|f| f.adr == adr)
            })
            .await?;
        let reply = item.map_err(|_| no_answer())?;
        let r = Response::from_frame(&reply, req.command());
        let (true, ResponseBody::Analog(a)) = (r.answers(&req), r.body) else {
            return Err(no_answer());
        };
        // The first temperature is the BMS board's; the others the cells'.
        let module = a.modules.first().ok_or_else(no_answer)?;
        let cell_temps = usize::from(module.temperatures.len() > 1)..module.temperatures.len();
        Ok(Polled {
            reading: analog_reading(module, cell_temps).ok_or_else(no_answer)?,
            charge_mosfet: None,
            alarms: None,
        })
    }

    async fn write_charge_mosfet<L: Link>(
        &mut self,
        _p: &mut BmsPoller<L, Self>,
        _on: bool,
    ) -> Result<(), PollError> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// JK "4E 57"

/// A JK BMS on its RS485 adapter or GPS-port UART ("4E 57" frames, 115200 baud).
#[derive(Debug, Clone, Copy, Default)]
pub struct Jk;

impl Jk {
    fn frame(m: &voltwire_jk::Message) -> Vec<u8> {
        let mut buf = vec![0u8; voltwire_jk::frame::MAX_FRAME_LEN];
        match m.emit(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                buf
            }
            Err(_) => Vec::new(),
        }
    }

    /// The reading in a read-all record; `None` without cells, pack voltage, current or SOC.
    pub fn polled(r: &voltwire_jk::Record) -> Option<Polled> {
        let (cell_min, cell_max) = extremes(r.cell_voltages())?;
        // 0x81 (box / T1) and 0x82 (battery / T2) are the cell probes; 0x80 is the MOSFET's.
        let temp_max = [r.box_temperature, r.battery_temperature]
            .into_iter()
            .flatten()
            .filter_map(voltwire_jk::SensorTemperature::deci_celsius)
            .max();
        Some(Polled {
            reading: BmsReading {
                pack: r.pack_voltage?,
                current: r.current()?,
                soc: Permille(i16::from(r.soc_percent?.min(100)) * 10),
                cell_min,
                cell_max,
                temp_max,
            },
            charge_mosfet: r.status.map(voltwire_jk::Status::charge_mos_on),
            alarms: r.warnings.map(|w| w.flags().collect()),
        })
    }
}

impl BmsProtocol for Jk {
    type Decoder = voltwire_jk::JkDecoder;
    const NAME: &'static str = "jk";
    const WRITES_MOSFET: bool = true;

    /// Read all (command 0x06): the whole record in one reply.
    async fn poll<L: Link>(&mut self, p: &mut BmsPoller<L, Self>) -> Result<Polled, PollError> {
        use voltwire_jk::{Command, Message, Transport};
        let req = Self::frame(&Message::read_all());
        let item = p
            .request(&req, |i| {
                i.as_ref().is_ok_and(|m| {
                    m.header.transport != Transport::Request
                        && matches!(m.header.command, Command::ReadAll | Command::Read)
                        && m.record().is_some_and(|r| r.cells.is_some())
                })
            })
            .await?;
        let m = item.map_err(|_| no_answer())?;
        m.record().and_then(Self::polled).ok_or_else(no_answer)
    }

    /// Write data ID 0xAB (the charge MOSFET switch), answered by a write reply.
    async fn write_charge_mosfet<L: Link>(
        &mut self,
        p: &mut BmsPoller<L, Self>,
        on: bool,
    ) -> Result<(), PollError> {
        use voltwire_jk::{Command, Message, Record, Transport};
        let mut r = Record::new();
        r.charge_mos_switch = Some(u8::from(on));
        let req = Self::frame(&Message::write(r));
        p.request(&req, |i| {
            i.as_ref().is_ok_and(|m| {
                m.header.transport != Transport::Request && m.header.command == Command::Write
            })
        })
        .await
        .map(drop)
    }
}

// ---------------------------------------------------------------------------------------
// JK-PB

/// A JK-PB (inverter BMS) at DIP address `address` on its RS485 port.
#[derive(Debug, Clone, Copy)]
pub struct JkPb {
    /// The DIP-switch address (1–15; 0 makes the BMS the bus master, which polls others).
    pub address: u8,
}

/// The register of the charge enable: the settings block's i32 at block offset 118 is
/// register `0x1000 + 118 − 6` = 0x1070 (byte-addressed table, see
/// `voltwire_jk::pb_map`); two registers, the most significant half first.
pub const JK_PB_CHARGE_ENABLE_REGISTER: u16 = 0x1070;

impl JkPb {
    fn frame(m: &voltwire_jk::pb::Message) -> Vec<u8> {
        let mut buf = vec![0u8; voltwire_jk::pb::BLOCK_LEN];
        match m.emit(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                buf
            }
            Err(_) => Vec::new(),
        }
    }

    /// The reading in a status block; `None` without fitted cells.
    pub fn polled(s: &voltwire_jk::pb::Status) -> Option<Polled> {
        let (cell_min, cell_max) = extremes(s.cells())?;
        // T1 and T2 are the battery probes of every PB; T3 and T4 count when fitted
        // (0x10, 0x20 of the sensors-present byte). The MOSFET probe is not a cell's.
        let plausible = |t: &DeciCelsius| (-400..=1200).contains(&t.0);
        let temp_max = [
            Some(s.temperature_1),
            Some(s.temperature_2),
            (s.sensors_present & 0x10 != 0).then_some(s.temperature_3),
            (s.sensors_present & 0x20 != 0).then_some(s.temperature_4),
        ]
        .into_iter()
        .flatten()
        .filter(plausible)
        .max();
        let soc = soc_of(s.remaining_capacity.0, s.full_charge_capacity.0)
            .unwrap_or(Permille(i16::from(s.soc_percent.min(100)) * 10));
        Some(Polled {
            reading: BmsReading {
                pack: s.pack_voltage,
                current: s.current,
                soc,
                cell_min,
                cell_max,
                temp_max,
            },
            charge_mosfet: Some(s.charge_mos != 0),
            alarms: Some(s.alarms.flags().collect()),
        })
    }
}

impl BmsProtocol for JkPb {
    type Decoder = voltwire_jk::pb::PbDecoder;
    const NAME: &'static str = "jk-pb";
    const WRITES_MOSFET: bool = true;

    /// The status trigger (FC 0x10 of 0 to 0x1620), answered by the 300-byte status block.
    async fn poll<L: Link>(&mut self, p: &mut BmsPoller<L, Self>) -> Result<Polled, PollError> {
        use voltwire_jk::pb::{BlockKind, Message, Trigger};
        let req = Self::frame(&Message::trigger(self.address, Trigger::Status));
        let item = p
            .request(
                &req,
                |i| matches!(i, Ok(Message::Block(b)) if b.kind() == BlockKind::Status),
            )
            .await?;
        let Ok(Message::Block(b)) = item else {
            return Err(no_answer());
        };
        b.status()
            .as_ref()
            .and_then(Self::polled)
            .ok_or_else(no_answer)
    }

    /// FC 0x10 of the charge enable (0x1070, 2 registers: 0, 0/1), answered by the write
    /// acknowledgement (an exception is a refusal: no answer).
    async fn write_charge_mosfet<L: Link>(
        &mut self,
        p: &mut BmsPoller<L, Self>,
        on: bool,
    ) -> Result<(), PollError> {
        use voltwire_jk::pb::Message;
        let mut values = voltwire_jk::heapless::Vec::new();
        let _ = values.push(0);
        let _ = values.push(u16::from(on));
        let adr = self.address;
        let req = Self::frame(&Message::WriteRequest {
            address: adr,
            register: JK_PB_CHARGE_ENABLE_REGISTER,
            values,
        });
        let item = p
            .request(&req, |i| match i {
                Ok(Message::WriteAck {
                    address, register, ..
                }) => *address == adr && *register == JK_PB_CHARGE_ENABLE_REGISTER,
                Ok(Message::Exception { address, .. }) => *address == adr,
                _ => false,
            })
            .await?;
        match item {
            Ok(Message::WriteAck { .. }) => Ok(()),
            other => {
                tracing::warn!(reply = ?other, "jk-pb: charge enable refused");
                Err(no_answer())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test")]
    use super::*;

    /// The register is where the settings block's charge enable lands in the register image
    /// (big-endian, two registers).
    #[test]
    fn jk_pb_charge_enable_register_is_the_settings_word() {
        use voltwire_jk::pb::{Block, BlockKind, Settings};
        assert_eq!(JK_PB_CHARGE_ENABLE_REGISTER, 0x1070);
        let s = Settings {
            charge_enabled: 1,
            ..Settings::default()
        };
        let mut b = Block::new(BlockKind::Settings);
        s.write_to(&mut b).unwrap();
        voltwire_jk::pb_map::swap_fields(&mut b);
        let (kind, off) = voltwire_jk::pb_map::locate(JK_PB_CHARGE_ENABLE_REGISTER).unwrap();
        assert_eq!(kind, BlockKind::Settings);
        let at = voltwire_jk::pb_map::PAYLOAD_OFFSET + off;
        assert_eq!(&b.0[at..at + 4], &[0, 0, 0, 1]);
    }

    #[test]
    fn soc_of_bounds() {
        assert_eq!(soc_of(615, 1000), Some(Permille(615)));
        assert_eq!(soc_of(1200, 1000), Some(Permille(1000)));
        assert_eq!(soc_of(-5, 1000), Some(Permille(0)));
        assert_eq!(soc_of(5, 0), None);
    }
}
