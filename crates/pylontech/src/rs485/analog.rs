//! 0x42 analog values and 0x44 alarm information, one module or all (0xFF): the shared
//! [`voltwire_asciihex::block`] layouts in the Pylontech dialect.

use voltwire_asciihex::block::{self, Dialect};
use voltwire_asciihex::{InfoWriter, Reader};
use voltwire_core::{EncodeError, MilliampHours};

use super::{CURRENT_STEP_MA, ZERO_CELSIUS};

/// The Pylontech v20 dialect of the module blocks (PYL33 §3.3, §3.5): 100 mA, 1 mAh
/// (65 535 mAh = 0xFFFF when above 65 Ah), 0 °C = 2731; capacity 2 (remaining and total,
/// u24 BE each, 1 mAh) from 4 user-defined items on; status 1–5 in 0x44.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pylontech;

fn cap24(v: MilliampHours) -> Result<u32, EncodeError> {
    u32::try_from(v.0).map_err(|_| EncodeError::OutOfRange {
        field: "capacity_2",
    })
}

impl Dialect for Pylontech {
    const CURRENT_STEP_MA: i16 = CURRENT_STEP_MA;
    const CAPACITY_STEP_MAH: u16 = 1;
    const ZERO_CELSIUS: i32 = ZERO_CELSIUS;
    const EXTENDED_FROM: u8 = 4;
    type Extension = (MilliampHours, MilliampHours);
    type State = [u8; 5];

    fn read_extension(r: &mut Reader<'_>) -> Option<Self::Extension> {
        let remaining = MilliampHours(i64::from(r.u24().ok()?));
        Some((remaining, MilliampHours(i64::from(r.u24().ok()?))))
    }

    fn write_extension(
        &(rem, tot): &Self::Extension,
        w: &mut InfoWriter,
    ) -> Result<(), EncodeError> {
        w.u24(cap24(rem)?, "capacity_2")?
            .u24(cap24(tot)?, "capacity_2")?;
        Ok(())
    }

    fn capacities(e: &Self::Extension) -> Option<(MilliampHours, MilliampHours)> {
        Some(*e)
    }

    fn read_state(r: &mut Reader<'_>) -> Option<[u8; 5]> {
        r.take().ok()
    }

    fn write_state(s: &[u8; 5], w: &mut InfoWriter) -> Result<(), EncodeError> {
        w.bytes(s)?;
        Ok(())
    }
}

/// Analog values of one module (PYL33 §3.3). Temperatures: #1 BMS board, then cell groups
/// (cells 1–4, 5–8, …); the US5000 adds a MOSFET value. The remaining and full capacity are
/// "capacity 1"; the extension is capacity 2 (remaining, total), which
/// [`block::Analog::remaining`] and [`block::Analog::total`] prefer.
pub type ModuleAnalog = block::Analog<Pylontech>;

/// A 0x42 reply: INFOFLAG (0x10/0x11 on most units, 0x00 on some), the command value
/// (module address) or, for an all-modules request, the module count, then each module.
pub type AnalogReply = block::Reply<ModuleAnalog>;

/// Alarm information of one module (PYL33 §3.5). State bytes: see
/// [`super::alarm_state`]; the extra state is status 1–5 (bits: [`super::status_flags`];
/// status 4/5: cell 1–16 errors).
pub type ModuleAlarm = block::Status<Pylontech>;

/// A 0x44 reply: DATAFLAG, command value (or module count), each module, and up to 4 extra
/// trailing bytes some units append (real US3000/UP5000 frames carry one).
pub type AlarmReply = block::Reply<ModuleAlarm>;
