//! Registers: the table of known register ids with their wire type, unit and scale, and the
//! typed decoding and encoding of their values.
//!
//! Values are little-endian; the width comes from the register's [`ValueType`], never from
//! the frame. Numbers keep their raw wire integer ([`Reading::raw`]) together with the
//! [`Unit`] that gives its resolution, so nothing is rounded: exact accessors into
//! `voltwire_core` units exist where the core unit holds every wire value exactly
//! (0.01 V → [`Millivolts`](voltwire_core::Millivolts), 0.1 A → [`Milliamps`](voltwire_core::Milliamps), 0.01 kWh → [`WattHours`](voltwire_core::WattHours), …), and
//! [`Reading::si_value`] gives an `f64` for the application edge.
//!
//! "Not available" sentinels (un8 0xFF, un16 0xFFFF, un24 0xFFFFFF, un32 0xFFFFFFFF,
//! sn8 0x7F, sn16 0x7FFF, sn32 0x7FFFFFFF) decode to [`RegisterValue::NotAvailable`], except
//! for bit-field registers ([`Unit::Bits`]) where all ones is a valid value.
//!
//! Three files, each depending only on the ones before it: `units` (wire types, units, value storage),
//! `table` (the register table), `values` (typed values; the history records decode here).
//! [`crate::hex::message`] and [`crate::hex::history`] use the register module, never the
//! other way round except `values` → `history` for the record types.

mod table;
mod units;
mod values;

pub use table::{REGISTERS, RegisterInfo, id, is_history_day, lookup, lookup_name, may_write_nvm};
pub use units::{MAX_VALUE_LEN, Unit, ValueBytes, ValueType};
pub use values::{Reading, RegisterValue};

#[cfg(test)]
mod tests;
