//! 0x42 analog values and 0x44 warning/status, one pack or all (0xFF): the shared
//! [`voltwire_asciihex::block`] layouts in the Pace dialect.

use voltwire_asciihex::block::{self, Dialect};
use voltwire_asciihex::info_layout;
use voltwire_asciihex::layout::{FlagByte, Layout, U8};
use voltwire_asciihex::{InfoWriter, Reader};
use voltwire_core::{EncodeError, MilliampHours};

use crate::flags::{Control, Fault, Protect1, Protect2, System, Warn1, Warn2};

#[cfg(doc)]
use crate::MAX_PACKS;
use crate::{CAPACITY_STEP_MAH, CURRENT_STEP_MA, ZERO_CELSIUS};

/// The Pace v25 dialect of the module blocks: 10 mA, 10 mAh, 0 °C = 2730; the design
/// capacity (u16 BE, 10 mAh) from 3 user-defined items on; nine state bytes in 0x44.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pace;

impl Dialect for Pace {
    const CURRENT_STEP_MA: i16 = CURRENT_STEP_MA;
    const CAPACITY_STEP_MAH: u16 = CAPACITY_STEP_MAH;
    const ZERO_CELSIUS: i32 = ZERO_CELSIUS;
    const EXTENDED_FROM: u8 = 3;
    type Extension = MilliampHours;
    type State = PackState;

    fn read_extension(r: &mut Reader<'_>) -> Option<MilliampHours> {
        r.milliamp_hours(CAPACITY_STEP_MAH).ok()
    }

    fn write_extension(e: &MilliampHours, w: &mut InfoWriter) -> Result<(), EncodeError> {
        w.milliamp_hours(*e, CAPACITY_STEP_MAH, "design_capacity")?;
        Ok(())
    }

    fn capacities(_: &MilliampHours) -> Option<(MilliampHours, MilliampHours)> {
        None
    }

    fn read_state(r: &mut Reader<'_>) -> Option<PackState> {
        PackState::read_from(r)
    }

    fn write_state(s: &PackState, w: &mut InfoWriter) -> Result<(), EncodeError> {
        s.write_to(w)
    }
}

/// Analog values of one pack (PACEPDF §4.2, NK25). Temperatures: on 16S packs 4 cell
/// sensors, then MOSFET, then environment (derive roles from the count). The extension is
/// the design capacity.
pub type PackAnalog = block::Analog<Pace>;

/// A 0x42 reply: INFOFLAG, the pack number (or the pack count after an 0xFF request), then
/// each pack, up to [`MAX_PACKS`] of them (`block::Reply<PackAnalog, M>` holds up to `M`).
pub type AnalogReply = block::Reply<PackAnalog>;

/// Warning/status of one pack (PACEPDF §4.3). Warning values: [`crate::flags::warning`];
/// the state bytes: [`PackState`].
pub type PackStatus = block::Status<Pace>;

/// A 0x44 reply: INFOFLAG, pack number (or count), each pack, and up to 4 extra trailing
/// bytes some packs append ("easun powerwall" in NK25), kept so it re-emits byte-exact. Up
/// to [`MAX_PACKS`] packs (`block::Reply<PackStatus, M>` holds up to `M`).
pub type StatusReply = block::Reply<PackStatus>;

info_layout! {
    /// The nine state bytes of a 0x44 pack after the three warnings, as named flag words
    /// ([`crate::flags`]).
    #[derive(Copy)]
    pub struct PackState {
        /// Protect state 1. Wire: u8.
        pub protect_1: Protect1 = FlagByte,
        /// Protect state 2. Wire: u8.
        pub protect_2: Protect2 = FlagByte,
        /// Instruction/system state. Wire: u8.
        pub system: System = FlagByte,
        /// Control state. Wire: u8.
        pub control: Control = FlagByte,
        /// Fault state. Wire: u8.
        pub fault: Fault = FlagByte,
        /// Balancing cells 1–8 (bit 0 = cell 1). Wire: u8.
        pub balance_1: u8 = U8,
        /// Balancing cells 9–16 (bit 0 = cell 9). Wire: u8.
        pub balance_2: u8 = U8,
        /// Warn state 1. Wire: u8.
        pub warn_1: Warn1 = FlagByte,
        /// Warn state 2. Wire: u8.
        pub warn_2: Warn2 = FlagByte,
    }
}

impl PackState {
    /// Whether the pack has "locked" after over-voltage (protect 1 cell or pack OV, or
    /// protect 2 fully charged): pace2pylon then switches the charge MOSFET back on.
    pub const fn locked_after_balancing(&self) -> bool {
        self.protect_1.0 & (Protect1::CELL_OVER_VOLTAGE | Protect1::PACK_OVER_VOLTAGE) != 0
            || self.protect_2.contains(Protect2::FULLY_CHARGED)
    }
}
