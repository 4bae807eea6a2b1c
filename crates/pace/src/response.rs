//! Responses (BMS → host).

use heapless::Vec;
#[cfg(doc)]
use voltwire_asciihex::Frame;
use voltwire_asciihex::block;
use voltwire_asciihex::layout::Layout;
use voltwire_asciihex::message::{self, Body};
use voltwire_asciihex::{Info, MAX_INFO_LEN, Writer};
use voltwire_core::EncodeError;

use crate::request::is_write_or_control;
use crate::{
    BalanceConfig, Capacity, ConfigRead, CurrentProtection, DateTime, FullChargeConfig, MAX_PACKS,
    ManufacturerInfo, PackAnalog, PackStatus, RequestBody, SystemParameters, VoltageKind,
    VoltageProtection, command,
};

voltwire_asciihex::body_enum! {
    /// What a response carries, by the command it answers: up to `M` packs in a 0x42/0x44
    /// reply and `N` bytes of undecoded INFO (defaults [`MAX_PACKS`], [`MAX_INFO_LEN`]: any
    /// reply; see [`Response`]).
    pub enum ResponseBody<const M: usize = MAX_PACKS, const N: usize = MAX_INFO_LEN> {
        /// 0x42, one pack or all.
        Analog(block::Reply<PackAnalog, M>) => command::ANALOG,
        /// 0x44, one pack or all.
        Status(block::Reply<PackStatus, M>) => command::STATUS,
        /// 0x47 (v20 layout, raw).
        SystemParameters(SystemParameters) => command::SYSTEM_PARAMETERS,
        /// 0x4F: no INFO; the version is the frame's VER.
        ProtocolVersion => command::PROTOCOL_VERSION,
        /// 0x51 (v20 layout).
        Manufacturer(ManufacturerInfo) => command::MANUFACTURER,
        /// 0x90: number of packs. Wire: u8.
        PackCount(u8) => command::PACK_COUNT,
        /// 0xC1: software/hardware version. Wire: 20 ASCII bytes, space padded.
        SoftwareVersion([u8; 20]) => command::SOFTWARE_VERSION,
        /// 0xC2: product/serial information. Wire: 20 or 40 ASCII bytes.
        ProductInfo(Vec<u8, 40>) => command::PRODUCT_INFO,
        /// 0xA6.
        Capacity(Capacity) => command::CAPACITY,
        /// 0xB1.
        DateTime(DateTime) => command::READ_DATE_TIME,
        /// 0xD1/0xD3/0xD5/0xD7.
        Voltage(VoltageKind, VoltageProtection) for (k, _) => k.read_command(),
        /// 0xD9.
        ChargeOverCurrent(CurrentProtection) => command::READ_CHARGE_OVER_CURRENT,
        /// 0xDB (values negative as read).
        DischargeOverCurrent(CurrentProtection) => command::READ_DISCHARGE_OVER_CURRENT,
        /// 0xB6.
        Balancing(BalanceConfig) => command::READ_BALANCING,
        /// 0xAF.
        FullCharge(FullChargeConfig) => command::READ_FULL_CHARGE,
        /// The empty OK frame answering a write or control command.
        Accepted {
            /// The command answered.
            command: u8,
        } for { command } => *command,
        /// One byte answering a control command (0x9A/0x9B: the instruction/system state
        /// after the switch, see [`crate::flags::System`]; undocumented).
        ControlState {
            /// The command answered.
            command: u8,
            /// The byte. Wire: u8.
            state: u8,
        } for { command, .. } => *command,
        /// A reply with RTN ≠ 0, to an unknown command, or whose INFO does not fit.
        Undecoded {
            /// The command answered.
            command: u8,
            /// INFO as sent.
            info: Info<N>,
        } for { command, .. } => *command,
    }
}

/// A response frame (RTN 0 for data replies) that holds any reply: up to [`MAX_PACKS`] packs
/// and [`MAX_INFO_LEN`] INFO bytes (≈ 4 KiB; read from and written to a [`Frame`]). For less
/// RAM see [`SizedResponse`].
pub type Response = message::Response<ResponseBody>;

/// A caller-sized response: up to `M` packs per 0x42/0x44 reply and `N` INFO bytes, read from
/// and written to a `Frame<N>`. A host polling one pack at a time can use
/// `SizedResponse<1, 128>` (≈ 0.3 KiB) with `Frame::<128>::parse_sized`. A reply that does not
/// fit is never truncated: more packs than `M` give [`ResponseBody::Undecoded`], more INFO than
/// `N` an [`Error::Capacity`](crate::Error::Capacity) frame.
pub type SizedResponse<const M: usize, const N: usize> = message::Response<ResponseBody<M, N>>;

impl<const M: usize, const N: usize> message::ResponseBody<N> for ResponseBody<M, N> {
    type Request<const K: usize> = RequestBody<K>;

    fn answers_body<const K: usize>(&self, request: &RequestBody<K>) -> bool {
        // The generic check already matched the command, so the variants agree.
        let (RequestBody::Analog(t) | RequestBody::Status(t)) = request else {
            return true;
        };
        match self {
            Self::Analog(a) => a.answers(t.pack()),
            Self::Status(s) => s.answers(t.pack()),
            _ => true,
        }
    }
}

impl<const M: usize, const N: usize> Body<N> for ResponseBody<M, N> {
    /// The command this body answers.
    fn command(&self) -> u8 {
        // The inherent one `body_enum!` states with the variants.
        Self::command(self)
    }

    // Out of line (here and `info`): the bodies are kilobytes, and inlined into a caller with
    // other large values on its stack every field access needs a long stack offset; in a
    // frame of their own the field code is short (thumbv7em probe: pylontech RS485 -2.5 KiB,
    // pace -0.8 KiB of .text, `bench/size.sh`).
    #[inline(never)]
    fn decode(cid2: u8, info: &[u8]) -> Option<Self> {
        if is_write_or_control(cid2) {
            return match info {
                [] => Some(Self::Accepted { command: cid2 }),
                [s] if matches!(
                    cid2,
                    command::CHARGE_MOSFET
                        | command::DISCHARGE_MOSFET
                        | command::SWITCH
                        | command::SHUTDOWN
                ) =>
                {
                    Some(Self::ControlState {
                        command: cid2,
                        state: *s,
                    })
                }
                _ => None,
            };
        }
        if let Some(c) = ConfigRead::from_command(cid2) {
            return Some(match c {
                ConfigRead::Voltage(k) => Self::Voltage(k, VoltageProtection::from_info(info)?),
                ConfigRead::ChargeOverCurrent => {
                    Self::ChargeOverCurrent(CurrentProtection::from_info(info)?)
                }
                ConfigRead::DischargeOverCurrent => {
                    Self::DischargeOverCurrent(CurrentProtection::from_info(info)?)
                }
                ConfigRead::Balancing => Self::Balancing(BalanceConfig::from_info(info)?),
                ConfigRead::FullCharge => Self::FullCharge(FullChargeConfig::from_info(info)?),
            });
        }
        Some(match cid2 {
            command::ANALOG => Self::Analog(block::Reply::read(info)?),
            command::STATUS => Self::Status(block::Reply::read(info)?),
            command::SYSTEM_PARAMETERS => {
                Self::SystemParameters(SystemParameters::from_info(info)?)
            }
            command::PROTOCOL_VERSION => info.is_empty().then_some(Self::ProtocolVersion)?,
            command::MANUFACTURER => Self::Manufacturer(ManufacturerInfo::from_info(info)?),
            command::PACK_COUNT => match info {
                [n] => Self::PackCount(*n),
                _ => return None,
            },
            command::SOFTWARE_VERSION => Self::SoftwareVersion(info.try_into().ok()?),
            command::PRODUCT_INFO if info.len() == 20 || info.len() == 40 => {
                Self::ProductInfo(Vec::from_slice(info).ok()?)
            }
            command::CAPACITY => Self::Capacity(Capacity::from_info(info)?),
            command::READ_DATE_TIME => Self::DateTime(DateTime::from_info(info)?),
            _ => return None,
        })
    }

    /// A reply with RTN ≠ 0, to an unknown command, or whose INFO does not fit.
    fn undecoded(command: u8, info: Info<N>) -> Self {
        Self::Undecoded { command, info }
    }

    /// The INFO bytes.
    ///
    /// # Errors
    /// [`EncodeError`] when a value does not fit its wire field.
    #[inline(never)]
    fn info(&self) -> Result<Info<N>, EncodeError> {
        let mut w = Writer::<N>::new_sized();
        match self {
            Self::Analog(a) => a.write(&mut w)?,
            Self::Status(s) => s.write(&mut w)?,
            Self::SystemParameters(p) => p.write_to(&mut w)?,
            Self::ProtocolVersion | Self::Accepted { .. } => {}
            Self::Manufacturer(m) => m.write_to(&mut w)?,
            Self::PackCount(n) => {
                w.u8(*n)?;
            }
            Self::SoftwareVersion(v) => {
                w.bytes(v)?;
            }
            Self::ProductInfo(v) => {
                w.bytes(v)?;
            }
            Self::Capacity(c) => c.write_to(&mut w)?,
            Self::DateTime(d) => d.write_to(&mut w)?,
            Self::Voltage(_, v) => v.write_to(&mut w)?,
            Self::ChargeOverCurrent(c) | Self::DischargeOverCurrent(c) => c.write_to(&mut w)?,
            Self::Balancing(b) => b.write_to(&mut w)?,
            Self::FullCharge(f) => f.write_to(&mut w)?,
            Self::ControlState { state, .. } => {
                w.u8(*state)?;
            }
            Self::Undecoded { info, .. } => return Ok(info.clone()),
        }
        Ok(w.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voltwire_asciihex::Frame;

    #[test]
    fn annotated_status_reply() {
        // LENGTH 004C: digit sum 16 masks to LCHKSUM 0. INFO: flag 00, pack 01, 16 cells
        // (0x10) all 00, 6 temps all 00, 3 × 00, protect 00 00, system 0x0E, then 6 × 00.
        let wire = b"~25014600004C000110000000000000000000000000000000000600000000000000000000000E000000000000EF3A\r";
        let r = Response::from_frame(&Frame::parse(wire).unwrap(), command::STATUS);
        let ResponseBody::Status(s) = &r.body else {
            panic!("{r:?}")
        };
        assert_eq!((s.info_flag, s.command, s.modules.len()), (0, 1, 1));
        assert_eq!(s.modules[0].state.system.0, 0x0E);
        assert!(!s.modules[0].state.locked_after_balancing());
        assert_eq!(r.to_frame().unwrap().to_bytes().as_slice(), wire);
    }

    #[test]
    fn empty_ok_answers_writes_only() {
        let f = Frame::parse(b"~250046000000FDAF\r").unwrap();
        assert_eq!(
            Response::from_frame(&f, command::WRITE_BALANCING).body,
            ResponseBody::Accepted {
                command: command::WRITE_BALANCING
            }
        );
        assert!(matches!(
            Response::from_frame(&f, command::ANALOG).body,
            ResponseBody::Undecoded { .. }
        ));
    }

    #[test]
    fn caller_sized_response_keeps_what_does_not_fit_whole() {
        use voltwire_asciihex::Error;
        // A 0x44 reply of two packs (16 cells each), emitted by the default-sized response.
        let wire = b"~25014600004C000110000000000000000000000000000000000600000000000000000000000E000000000000EF3A\r";
        let one = Response::from_frame(&Frame::parse(wire).unwrap(), command::STATUS);
        let ResponseBody::Status(mut reply) = one.body.clone() else {
            panic!("{one:?}")
        };
        reply.command = 2;
        reply.modules.push(reply.modules[0].clone()).unwrap();
        let two = Response::ok(1, ResponseBody::Status(reply))
            .to_frame()
            .unwrap();
        let bytes = two.to_bytes();
        assert_eq!(two.info.len(), 2 + 2 * 36);

        // One pack and 128 bytes: the single-pack reply decodes as the default does ...
        let f = Frame::<128>::parse_sized(wire).unwrap();
        let small = SizedResponse::<1, 128>::from_frame(&f, command::STATUS);
        assert_eq!(std::format!("{small:?}"), std::format!("{one:?}"));
        assert_eq!(small.to_frame().unwrap().to_bytes().as_slice(), wire);
        // ... the two-pack reply stays whole and undecoded, and re-emits byte-exact ...
        let f = Frame::<128>::parse_sized(&bytes).unwrap();
        let small = SizedResponse::<1, 128>::from_frame(&f, command::STATUS);
        assert_eq!(
            small.body,
            ResponseBody::Undecoded {
                command: command::STATUS,
                info: Info::from_slice(&two.info).unwrap()
            }
        );
        assert_eq!(small.to_frame().unwrap().to_bytes(), bytes);
        // ... and a frame with more INFO than the capacity is refused, not cut.
        assert_eq!(
            Frame::<73>::parse_sized(&bytes),
            Err(Error::Capacity {
                len: 74,
                capacity: 73
            })
        );
        assert!(Frame::<74>::parse_sized(&bytes).is_ok());
    }
}
