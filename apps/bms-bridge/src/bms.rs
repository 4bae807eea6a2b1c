//! The BMS protocols behind one shape ([`BmsProtocol`]): a poll that turns the pack's
//! replies into a [`Polled`] reading and, where the protocol has one, the charge-MOSFET write.
//! The polls are the shared plans of `voltwire-bms-poll` run by the runtime's `bms::poll`;
//! this module maps their reading into the rules' and keeps the writes. The loop around
//! them (reconnect, poll period, the MOSFET rule) is [`crate::sources::bms`], shared by
//! every kind.
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
use voltwire_bms_poll::daly::{DalyPlan, DalyPoll, DalyReads};
use voltwire_bms_poll::jk::JkPlan;
use voltwire_bms_poll::jk_pb::{Fetch, JkPbPlan};
use voltwire_bms_poll::pace::{PacePlan, PacePoll};
use voltwire_bms_poll::pylontech::{PylontechPlan, PylontechPoll};
use voltwire_bms_poll::{Need, PackReading, Plan, Reading as _, soc_of};
use voltwire_bms_rules::BmsReading;
use voltwire_core::{Emit as _, Permille, StreamDecoder};
use voltwire_pace::Target;
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

/// A shared pack reading as the rules' reading: the cell extremes, the highest cell probe;
/// `soc` is the kind's choice.
fn polled(r: &PackReading, soc: Option<Permille>) -> Option<Polled> {
    Some(Polled {
        reading: BmsReading {
            pack: r.voltage,
            current: r.current,
            soc: soc?,
            cell_min: r.cell_min.value,
            cell_max: r.cell_max.value,
            temp_max: r.cell_temperatures.map(|(_, max)| max),
        },
        charge_mosfet: r.charge_mosfet,
        alarms: None,
    })
}

/// [`polled`] with the SOC of the shared reading.
fn own_soc<R: voltwire_bms_poll::Reading>(out: &R) -> Option<Polled> {
    let r = out.reading()?;
    polled(&r, r.soc)
}

/// One poll of a shared plan: no output (or a reading the kind cannot use) is no answer.
async fn poll_plan<L: Link, P: Plan + Send + Sync>(
    p: &mut Poller<L, P::Decoder>,
    mut plan: P,
    map: impl FnOnce(&P::Output) -> Option<Polled> + Send,
) -> Result<Polled, PollError>
where
    P::Decoder: StreamDecoder<Item: Send> + Send,
    P::Output: Send,
{
    let out = voltwire_runtime::bms::poll(p, &mut plan).await?;
    out.as_ref().and_then(map).ok_or_else(no_answer)
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
}

impl BmsProtocol for Daly {
    type Decoder = voltwire_daly::Decoder;
    const NAME: &'static str = "daly";
    const WRITES_MOSFET: bool = true;

    /// Pack status, cell range, temperatures, MOSFETs (`voltwire_bms_poll::daly`). A
    /// missing or not understood pack status or cell range makes the whole poll "no
    /// answer"; temperatures and MOSFETs are optional.
    async fn poll<L: Link>(&mut self, p: &mut BmsPoller<L, Self>) -> Result<Polled, PollError> {
        let plan = DalyPlan::new(self.variant, DalyReads::Status);
        poll_plan(p, plan, own_soc::<DalyPoll>).await
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

    /// Analog values (0x42) and status (0x44, for the charge MOSFET) of one pack
    /// (`voltwire_bms_poll::pace`): the cell probes are all temperatures but the MOSFET's and
    /// the environment's; SOC = remaining / total capacity.
    async fn poll<L: Link>(&mut self, p: &mut BmsPoller<L, Self>) -> Result<Polled, PollError> {
        let adr = self.address;
        let plan = PacePlan::new(adr, Target::Pack(adr), Need::Optional);
        poll_plan(p, plan, own_soc::<PacePoll>).await
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

    /// One 0x42 request and the module's analog block (`voltwire_bms_poll::pylontech`;
    /// the first temperature is the BMS board's, the others the cells').
    async fn poll<L: Link>(&mut self, p: &mut BmsPoller<L, Self>) -> Result<Polled, PollError> {
        let plan = PylontechPlan::new(self.address, false);
        poll_plan(p, plan, own_soc::<PylontechPoll>).await
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
    /// 0x81 (box / T1) and 0x82 (battery / T2) are the cell probes; 0x80 is the MOSFET's.
    pub fn polled(r: &voltwire_jk::Record) -> Option<Polled> {
        let reading = r.reading()?;
        Some(Polled {
            alarms: r.warnings.map(|w| w.flags().collect()),
            ..polled(&reading, reading.soc)?
        })
    }
}

impl BmsProtocol for Jk {
    type Decoder = voltwire_jk::JkDecoder;
    const NAME: &'static str = "jk";
    const WRITES_MOSFET: bool = true;

    /// Read all (command 0x06): the whole record in one reply.
    async fn poll<L: Link>(&mut self, p: &mut BmsPoller<L, Self>) -> Result<Polled, PollError> {
        poll_plan(p, JkPlan::new(), Self::polled).await
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

    /// The reading in a status block; `None` without fitted cells. T1 and T2 are the
    /// battery probes of every PB, T3 and T4 count when fitted; the SOC is remaining / full
    /// capacity, else the block's percentage.
    pub fn polled(s: &voltwire_jk::pb::Status) -> Option<Polled> {
        let reading = s.reading()?;
        let soc = soc_of(s.remaining_capacity, s.full_charge_capacity).or(reading.soc);
        Some(Polled {
            alarms: Some(s.alarms.flags().collect()),
            ..polled(&reading, soc)?
        })
    }
}

impl BmsProtocol for JkPb {
    type Decoder = voltwire_jk::pb::PbDecoder;
    const NAME: &'static str = "jk-pb";
    const WRITES_MOSFET: bool = true;

    /// The status trigger (FC 0x10 of 0 to 0x1620), answered by the 300-byte status block.
    async fn poll<L: Link>(&mut self, p: &mut BmsPoller<L, Self>) -> Result<Polled, PollError> {
        poll_plan(p, JkPbPlan::new(self.address, Fetch::Trigger), Self::polled).await
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
}
