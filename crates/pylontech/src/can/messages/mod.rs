//! The message types, one file per group. Each message states its byte layout once, as
//! public constants ([`voltwire_core::field`]: offset, width, signedness, byte order and,
//! for quantities, the scale); `parse` and `emit` both read those constants.
//!
//! | file            | ids                                                             |
//! |-----------------|-----------------------------------------------------------------|
//! | `limits.rs`     | 0x351 charge/discharge limits                                   |
//! | `state.rs`      | 0x355 SOC/SOH, 0x356 voltage/current/temperature                |
//! | `status.rs`     | 0x359 alarms, 0x35A SMA alarm pairs, 0x35C request flags        |
//! | `extensions.rs` | 0x35F battery info, 0x372 module counts, 0x373 cell extremes, 0x378 energy, 0x379 capacity |
//! | `text.rs`       | verbatim payloads: 0x35E, 0x370/0x371, 0x374-0x377, 0x380/0x381, 0x305, 0x307 |

mod extensions;
mod limits;
mod state;
mod status;
mod text;

pub use extensions::{BatteryInfo, CellExtremes, Energy, InstalledCapacity, ModuleCounts};
pub use limits::ChargeLimits;
pub use state::{Measurements, SocSoh};
pub use status::{Alarms, Request, SmaAlarms};
pub use text::{
    BatteryName, BmsName, InverterHandshake, InverterRequest, Manufacturer, MaxCellTemperatureId,
    MaxCellVoltageId, MinCellTemperatureId, MinCellVoltageId, SerialPart1, SerialPart2,
};

use voltwire_core::Quantity;
use voltwire_core::field::{IntField, ReadError, Scaled};

use super::ParseError;

/// A scaled little-endian field of the given integer type.
type LeScaled<T> = Scaled<voltwire_core::field::Le<T>>;

/// 0.1 V per step, into millivolts.
const DECIVOLT: voltwire_core::Scale = voltwire_core::Scale::new(100, 0);
/// 0.01 V per step, into millivolts.
const CENTIVOLT: voltwire_core::Scale = voltwire_core::Scale::new(10, 0);
/// 0.1 A per step, into milliamps.
const DECIAMP: voltwire_core::Scale = voltwire_core::Scale::new(100, 0);
/// 1 % per step, into 0.1 %.
const PERCENT: voltwire_core::Scale = voltwire_core::Scale::new(10, 0);
/// 1 K per step, into 0.1 K.
const KELVIN: voltwire_core::Scale = voltwire_core::Scale::new(10, 0);
/// 1 Ah per step, into mAh.
const AMP_HOUR: voltwire_core::Scale = voltwire_core::Scale::new(1000, 0);
/// 0.1 kWh per step, into Wh.
const DECI_KWH: voltwire_core::Scale = voltwire_core::Scale::new(100, 0);
/// The wire already carries canonical units.
const IDENTITY: voltwire_core::Scale = voltwire_core::Scale::IDENTITY;

fn length(id: u16, data: &[u8]) -> ParseError {
    ParseError::Length {
        id,
        len: data.len(),
    }
}

fn check_len(id: u16, data: &[u8], allowed: &[usize]) -> Result<(), ParseError> {
    if allowed.contains(&data.len()) {
        Ok(())
    } else {
        Err(length(id, data))
    }
}

/// A scaled field of message `id`, with the crate's parse errors.
fn quantity<F, U>(id: u16, data: &[u8], field: Scaled<F>) -> Result<U, ParseError>
where
    F: IntField,
    F::Int: Into<i64> + TryFrom<i64>,
    U: Quantity,
{
    field.read(data).map_err(|e| match e {
        ReadError::Short => length(id, data),
        ReadError::OutOfRange { field } => ParseError::OutOfRange { id, field },
    })
}

/// Writes an optional trailing field: the frame is `long` bytes with it, `short` without.
fn optional<V>(
    value: Option<V>,
    short: usize,
    long: usize,
    write: impl FnOnce(V) -> Result<(), voltwire_core::EncodeError>,
) -> Result<usize, voltwire_core::EncodeError> {
    match value {
        Some(v) => write(v).map(|()| long),
        None => Ok(short),
    }
}

/// A raw field of message `id` that the length check guarantees.
fn raw<F: IntField>(id: u16, data: &[u8], field: F) -> Result<F::Int, ParseError> {
    field.read(data).ok_or_else(|| length(id, data))
}

#[cfg(test)]
mod tests;
