//! Remote current-limit set points that expire.
//!
//! A controller (e.g. over MQTT) may lower the charge or discharge current limit of the
//! combined battery. A set point only ever lowers a limit (`min(limit, set point)`), is
//! refused outside `0 ..= bound` (the configured stack limit) and outside `1 ..= max_ttl` ms
//! of lifetime, and stops applying at its expiry time, so a dead controller cannot pin a
//! limit.

use voltwire_core::Milliamps;

use crate::state::BatteryState;
use crate::time::Millis;

/// Which limit a set point lowers.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The charge current limit.
    Charge,
    /// The discharge current limit.
    Discharge,
}

impl Direction {
    /// `charge` / `discharge`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Charge => "charge",
            Self::Discharge => "discharge",
        }
    }
}

/// One set point and when it expires.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Setpoint {
    /// The limit, a magnitude.
    pub limit: Milliamps,
    /// It applies while `now < until`.
    pub until: Millis,
}

/// Why a set point was refused; nothing changed.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SetpointError {
    /// The limit is negative or above the configured bound.
    #[error("{} current limit {value} mA is outside 0 ..= {bound} mA", direction.name())]
    OutOfRange {
        /// Which limit.
        direction: Direction,
        /// The value asked for, mA.
        value: i32,
        /// The configured bound, mA.
        bound: i32,
    },
    /// The lifetime is zero or above the configured maximum.
    #[error("lifetime {ttl_ms} ms is outside 1 ..= {max_ms} ms")]
    Ttl {
        /// The lifetime asked for, ms.
        ttl_ms: u64,
        /// The configured maximum, ms.
        max_ms: u64,
    },
}

impl SetpointError {
    /// A short, stable `snake_case` code for logs and JSON.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::OutOfRange { .. } => "out_of_range",
            Self::Ttl { .. } => "bad_ttl",
        }
    }
}

/// Bounds for set points.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SetpointBounds {
    /// Largest charge set point accepted.
    pub max_charge: Milliamps,
    /// Largest discharge set point accepted.
    pub max_discharge: Milliamps,
    /// Longest lifetime accepted, ms.
    pub max_ttl_ms: u64,
}

/// The charge and discharge set points in force.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Setpoints {
    /// Charge current limit set point.
    pub charge: Option<Setpoint>,
    /// Discharge current limit set point.
    pub discharge: Option<Setpoint>,
}

impl Setpoints {
    /// Check a set point against `bounds` without changing anything.
    ///
    /// # Errors
    /// [`SetpointError`] when the limit or the lifetime is out of bounds.
    pub const fn check(
        direction: Direction,
        limit: Milliamps,
        ttl_ms: u64,
        bounds: &SetpointBounds,
    ) -> Result<(), SetpointError> {
        let bound = match direction {
            Direction::Charge => bounds.max_charge.0,
            Direction::Discharge => bounds.max_discharge.0,
        };
        if limit.0 < 0 || limit.0 > bound {
            return Err(SetpointError::OutOfRange {
                direction,
                value: limit.0,
                bound,
            });
        }
        if ttl_ms == 0 || ttl_ms > bounds.max_ttl_ms {
            return Err(SetpointError::Ttl {
                ttl_ms,
                max_ms: bounds.max_ttl_ms,
            });
        }
        Ok(())
    }

    /// Set (replace) the set point for `direction`, valid for `ttl_ms` from `now`.
    ///
    /// # Errors
    /// As [`Setpoints::check`]; on error nothing changes.
    pub fn set(
        &mut self,
        direction: Direction,
        limit: Milliamps,
        ttl_ms: u64,
        now: Millis,
        bounds: &SetpointBounds,
    ) -> Result<(), SetpointError> {
        Self::check(direction, limit, ttl_ms, bounds)?;
        let sp = Some(Setpoint {
            limit,
            until: Millis(now.0.saturating_add(ttl_ms)),
        });
        match direction {
            Direction::Charge => self.charge = sp,
            Direction::Discharge => self.discharge = sp,
        }
        Ok(())
    }

    /// Remove both set points.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Drop the set points that expired by `now`.
    pub fn expire(&mut self, now: Millis) {
        for sp in [&mut self.charge, &mut self.discharge] {
            if sp.is_some_and(|s| now >= s.until) {
                *sp = None;
            }
        }
    }

    /// The set point for `direction` in force at `now`.
    pub fn active(&self, direction: Direction, now: Millis) -> Option<Setpoint> {
        let sp = match direction {
            Direction::Charge => self.charge,
            Direction::Discharge => self.discharge,
        };
        sp.filter(|s| now < s.until)
    }

    /// `s` with the set points in force at `now` applied: each limit becomes
    /// `min(limit, set point)`; expired set points are ignored.
    pub fn apply(&self, s: &BatteryState, now: Millis) -> BatteryState {
        let mut out = *s;
        if let Some(sp) = self.active(Direction::Charge, now) {
            out.charge_current_limit = out.charge_current_limit.min(sp.limit);
        }
        if let Some(sp) = self.active(Direction::Discharge, now) {
            out.discharge_current_limit = out.discharge_current_limit.min(sp.limit);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: SetpointBounds = SetpointBounds {
        max_charge: Milliamps(200_000),
        max_discharge: Milliamps(300_000),
        max_ttl_ms: 3_600_000,
    };

    fn state() -> BatteryState {
        BatteryState {
            charge_current_limit: Milliamps(150_000),
            discharge_current_limit: Milliamps(250_000),
            ..BatteryState::default()
        }
    }

    #[test]
    fn lowers_never_raises_and_expires() {
        let mut sp = Setpoints::default();
        sp.set(
            Direction::Charge,
            Milliamps(50_000),
            10_000,
            Millis(1_000),
            &BOUNDS,
        )
        .unwrap();
        sp.set(
            Direction::Discharge,
            Milliamps(280_000),
            5_000,
            Millis(1_000),
            &BOUNDS,
        )
        .unwrap();
        let s = sp.apply(&state(), Millis(2_000));
        assert_eq!(s.charge_current_limit, Milliamps(50_000));
        // Above the combined limit: the combined limit stays.
        assert_eq!(s.discharge_current_limit, Milliamps(250_000));
        // Charge expires at 11 000.
        assert_eq!(
            sp.apply(&state(), Millis(10_999)).charge_current_limit,
            Milliamps(50_000)
        );
        assert_eq!(
            sp.apply(&state(), Millis(11_000)).charge_current_limit,
            Milliamps(150_000)
        );
        sp.expire(Millis(6_000));
        assert!(sp.discharge.is_none() && sp.charge.is_some());
    }

    #[test]
    fn refused_set_points_change_nothing() {
        let mut sp = Setpoints::default();
        sp.set(
            Direction::Charge,
            Milliamps(10_000),
            1_000,
            Millis(0),
            &BOUNDS,
        )
        .unwrap();
        let before = sp;
        let e = sp
            .set(
                Direction::Charge,
                Milliamps(200_001),
                1_000,
                Millis(0),
                &BOUNDS,
            )
            .unwrap_err();
        assert_eq!(e.code(), "out_of_range");
        let e = sp
            .set(
                Direction::Discharge,
                Milliamps(-1),
                1_000,
                Millis(0),
                &BOUNDS,
            )
            .unwrap_err();
        assert_eq!(e.code(), "out_of_range");
        let e = sp
            .set(Direction::Charge, Milliamps(1_000), 0, Millis(0), &BOUNDS)
            .unwrap_err();
        assert_eq!(e.code(), "bad_ttl");
        let e = sp
            .set(
                Direction::Charge,
                Milliamps(1_000),
                3_600_001,
                Millis(0),
                &BOUNDS,
            )
            .unwrap_err();
        assert_eq!(e.code(), "bad_ttl");
        assert_eq!(sp, before);
    }
}
