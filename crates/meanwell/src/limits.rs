//! The model limits table, so a controller refuses an out-of-range set point before it
//! reaches the wire.

use voltwire_core::{Milliamps, Millivolts};

use crate::{Family, Value};

/// Set-point limits of one model.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Lowest output / charge voltage.
    pub vout_min: Millivolts,
    /// Highest output / charge voltage.
    pub vout_max: Millivolts,
    /// Lowest charge current the unit regulates.
    pub charge_current_min: Milliamps,
    /// Highest charge current.
    pub charge_current_max: Milliamps,
    /// Discharge current range (BIC only), as a magnitude.
    pub discharge_current: Option<(Milliamps, Milliamps)>,
}

/// Why a set point is refused.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// Below the model's minimum.
    #[error("{model}: `{field}` {value} is below the minimum {limit}")]
    BelowMinimum {
        /// Model name.
        model: &'static str,
        /// The limit that applies (`vout`, `charge_current`, `discharge_current`).
        field: &'static str,
        /// The requested value (mV or mA).
        value: i32,
        /// The limit (mV or mA).
        limit: i32,
    },
    /// Above the model's maximum.
    #[error("{model}: `{field}` {value} is above the maximum {limit}")]
    AboveMaximum {
        /// Model name.
        model: &'static str,
        /// The limit that applies.
        field: &'static str,
        /// The requested value (mV or mA).
        value: i32,
        /// The limit (mV or mA).
        limit: i32,
    },
    /// The model does not have the command.
    #[error("{model} does not have command 0x{command:04X}")]
    Unsupported {
        /// Model name.
        model: &'static str,
        /// The command code.
        command: u16,
    },
}

impl LimitError {
    /// A short, stable `snake_case` code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::BelowMinimum { .. } => "below_minimum",
            Self::AboveMaximum { .. } => "above_maximum",
            Self::Unsupported { .. } => "unsupported_command",
        }
    }
}

macro_rules! models {
    ($( $(#[$doc:meta])* $v:ident, $name:literal, $fam:ident,
        $vmin:literal, $vmax:literal, $cmin:literal, $cmax:literal, $dis:expr; )*) => {
        /// A model with its own limits.
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Model {
            $( $(#[$doc])* $v, )*
        }

        impl Model {
            /// Every model.
            pub const ALL: &'static [Self] = &[$( Self::$v, )*];

            /// The model name, e.g. `"BIC-2200-48"`.
            pub const fn name(self) -> &'static str {
                match self { $( Self::$v => $name, )* }
            }

            /// The family (ids, command set).
            pub const fn family(self) -> Family {
                match self { $( Self::$v => Family::$fam, )* }
            }

            /// The limits (mV / mA), from `MacGH23`'s `mwcan.ini`.
            pub const fn limits(self) -> Limits {
                match self {
                    $( Self::$v => Limits {
                        vout_min: Millivolts($vmin),
                        vout_max: Millivolts($vmax),
                        charge_current_min: Milliamps($cmin),
                        charge_current_max: Milliamps($cmax),
                        discharge_current: $dis,
                    }, )*
                }
            }
        }
    };
}

#[allow(clippy::unnecessary_wraps, reason = "table entries are Options")]
const fn dis(min: i32, max: i32) -> Option<(Milliamps, Milliamps)> {
    Some((Milliamps(min), Milliamps(max)))
}

models! {
    /// BIC-2200-12.
    Bic2200_12, "BIC-2200-12", Bic2200, 10_000, 15_000, 1_800, 198_000, dis(1_800, 153_000);
    /// BIC-2200-24.
    Bic2200_24, "BIC-2200-24", Bic2200, 19_000, 28_000, 900, 99_000, dis(900, 76_500);
    /// BIC-2200-48.
    Bic2200_48, "BIC-2200-48", Bic2200, 38_000, 65_000, 450, 49_500, dis(450, 38_300);
    /// BIC-2200-96.
    Bic2200_96, "BIC-2200-96", Bic2200, 76_000, 112_000, 250, 24_750, dis(250, 19_100);
    /// NPB-450-12.
    Npb450_12, "NPB-450-12", Npb, 10_500, 21_000, 5_000, 25_000, None;
    /// NPB-450-24.
    Npb450_24, "NPB-450-24", Npb, 21_000, 42_000, 2_700, 13_500, None;
    /// NPB-450-48.
    Npb450_48, "NPB-450-48", Npb, 42_000, 80_000, 1_360, 6_800, None;
    /// NPB-750-12.
    Npb750_12, "NPB-750-12", Npb, 10_500, 21_000, 8_600, 43_000, None;
    /// NPB-750-24.
    Npb750_24, "NPB-750-24", Npb, 21_000, 42_000, 4_500, 22_500, None;
    /// NPB-750-48.
    Npb750_48, "NPB-750-48", Npb, 42_000, 80_000, 2_260, 11_300, None;
    /// NPB-1200-12.
    Npb1200_12, "NPB-1200-12", Npb, 10_500, 17_500, 14_000, 70_000, None;
    /// NPB-1200-24.
    Npb1200_24, "NPB-1200-24", Npb, 21_000, 42_000, 7_200, 36_000, None;
    /// NPB-1200-48.
    Npb1200_48, "NPB-1200-48", Npb, 42_000, 80_000, 3_600, 18_000, None;
    /// NPB-1700-12.
    Npb1700_12, "NPB-1700-12", Npb, 10_500, 21_000, 17_000, 85_000, None;
    /// NPB-1700-24.
    Npb1700_24, "NPB-1700-24", Npb, 21_000, 42_000, 10_000, 50_000, None;
    /// NPB-1700-48.
    Npb1700_48, "NPB-1700-48", Npb, 42_000, 80_000, 5_000, 25_000, None;
}

impl Model {
    /// Find a model by name (case-insensitive), e.g. `"NPB-1200-48"`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    fn range(self, field: &'static str, value: i32, min: i32, max: i32) -> Result<(), LimitError> {
        if value < min {
            Err(LimitError::BelowMinimum {
                model: self.name(),
                field,
                value,
                limit: min,
            })
        } else if value > max {
            Err(LimitError::AboveMaximum {
                model: self.name(),
                field,
                value,
                limit: max,
            })
        } else {
            Ok(())
        }
    }

    /// Check a value about to be written: the model must have the command, and a voltage or
    /// current set point must lie within the model's limits. Values that are not set points
    /// pass.
    ///
    /// # Errors
    /// [`LimitError`] naming the limit.
    pub fn check(self, value: &Value) -> Result<(), LimitError> {
        let l = self.limits();
        let cmd = value.command();
        if !cmd.supported_by(self.family()) {
            return Err(LimitError::Unsupported {
                model: self.name(),
                command: cmd.0,
            });
        }
        let v = |mv: Millivolts| self.range("vout", mv.0, l.vout_min.0, l.vout_max.0);
        let charge = |ma: Milliamps| {
            self.range(
                "charge_current",
                ma.0,
                l.charge_current_min.0,
                l.charge_current_max.0,
            )
        };
        match *value {
            Value::VoutSet(mv)
            | Value::CurveCv(mv)
            | Value::CurveFv(mv)
            | Value::ChgRstVbat(mv)
            | Value::ReverseVoutSet(mv) => v(mv),
            Value::IoutSet(ma) | Value::CurveCc(ma) => charge(ma),
            Value::CurveTc(ma) => self.range("taper_current", ma.0, 0, l.charge_current_max.0),
            Value::ReverseIoutSet(ma) => match l.discharge_current {
                Some((min, max)) => {
                    self.range("discharge_current", ma.0.saturating_abs(), min.0, max.0)
                }
                None => Err(LimitError::Unsupported {
                    model: self.name(),
                    command: cmd.0,
                }),
            },
            _ => Ok(()),
        }
    }
}
