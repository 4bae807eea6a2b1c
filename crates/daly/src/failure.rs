//! The 0x98 failure bits as named flags (meanings from protocol V1.2; bit 0 = LSB).

use voltwire_core::{BitTable, FlagWord};

macro_rules! failures {
    ($($(#[$doc:meta])* $name:ident = ($byte:literal, $bit:literal, $s:literal),)*) => {
        /// One failure bit of the 0x98 reply.
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Failure {
            $($(#[$doc])* $name,)*
        }

        impl Failure {
            /// Every named failure, in wire order.
            pub const ALL: &'static [Self] = &[$(Self::$name,)*];

            /// (data byte, bit) of the flag.
            pub const fn position(self) -> (usize, u8) {
                match self {
                    $(Self::$name => ($byte, $bit),)*
                }
            }

            /// The flag's stable `snake_case` name.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Self::$name => $s,)*
                }
            }
        }

        impl FlagWord for FailureFlags {
            type Raw = u64;
            /// Bit `8 · byte + bit` of the seven bytes, little-endian.
            const BITS: BitTable = &[$(($byte * 8 + $bit, $s),)*];
            fn raw(self) -> u64 {
                let [b0, b1, b2, b3, b4, b5, b6] = self.0;
                u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, 0])
            }
        }
    };
}

failures! {
    /// Cell voltage high, level 1.
    CellVoltageHighL1 = (0, 0, "cell_voltage_high_l1"),
    /// Cell voltage high, level 2.
    CellVoltageHighL2 = (0, 1, "cell_voltage_high_l2"),
    /// Cell voltage low, level 1.
    CellVoltageLowL1 = (0, 2, "cell_voltage_low_l1"),
    /// Cell voltage low, level 2.
    CellVoltageLowL2 = (0, 3, "cell_voltage_low_l2"),
    /// Pack voltage high, level 1.
    PackVoltageHighL1 = (0, 4, "pack_voltage_high_l1"),
    /// Pack voltage high, level 2.
    PackVoltageHighL2 = (0, 5, "pack_voltage_high_l2"),
    /// Pack voltage low, level 1.
    PackVoltageLowL1 = (0, 6, "pack_voltage_low_l1"),
    /// Pack voltage low, level 2.
    PackVoltageLowL2 = (0, 7, "pack_voltage_low_l2"),
    /// Charge temperature high, level 1.
    ChargeTemperatureHighL1 = (1, 0, "charge_temperature_high_l1"),
    /// Charge temperature high, level 2.
    ChargeTemperatureHighL2 = (1, 1, "charge_temperature_high_l2"),
    /// Charge temperature low, level 1.
    ChargeTemperatureLowL1 = (1, 2, "charge_temperature_low_l1"),
    /// Charge temperature low, level 2.
    ChargeTemperatureLowL2 = (1, 3, "charge_temperature_low_l2"),
    /// Discharge temperature high, level 1.
    DischargeTemperatureHighL1 = (1, 4, "discharge_temperature_high_l1"),
    /// Discharge temperature high, level 2.
    DischargeTemperatureHighL2 = (1, 5, "discharge_temperature_high_l2"),
    /// Discharge temperature low, level 1.
    DischargeTemperatureLowL1 = (1, 6, "discharge_temperature_low_l1"),
    /// Discharge temperature low, level 2.
    DischargeTemperatureLowL2 = (1, 7, "discharge_temperature_low_l2"),
    /// Charge overcurrent, level 1.
    ChargeOvercurrentL1 = (2, 0, "charge_overcurrent_l1"),
    /// Charge overcurrent, level 2.
    ChargeOvercurrentL2 = (2, 1, "charge_overcurrent_l2"),
    /// Discharge overcurrent, level 1.
    DischargeOvercurrentL1 = (2, 2, "discharge_overcurrent_l1"),
    /// Discharge overcurrent, level 2.
    DischargeOvercurrentL2 = (2, 3, "discharge_overcurrent_l2"),
    /// SOC high, level 1.
    SocHighL1 = (2, 4, "soc_high_l1"),
    /// SOC high, level 2.
    SocHighL2 = (2, 5, "soc_high_l2"),
    /// SOC low, level 1.
    SocLowL1 = (2, 6, "soc_low_l1"),
    /// SOC low, level 2.
    SocLowL2 = (2, 7, "soc_low_l2"),
    /// Cell voltage difference, level 1.
    CellVoltageDiffL1 = (3, 0, "cell_voltage_diff_l1"),
    /// Cell voltage difference, level 2.
    CellVoltageDiffL2 = (3, 1, "cell_voltage_diff_l2"),
    /// Temperature difference, level 1.
    TemperatureDiffL1 = (3, 2, "temperature_diff_l1"),
    /// Temperature difference, level 2.
    TemperatureDiffL2 = (3, 3, "temperature_diff_l2"),
    /// Charge MOSFET over-temperature.
    ChargeMosOverTemperature = (4, 0, "charge_mos_over_temperature"),
    /// Discharge MOSFET over-temperature.
    DischargeMosOverTemperature = (4, 1, "discharge_mos_over_temperature"),
    /// Charge MOSFET temperature sensor fault.
    ChargeMosSensorFault = (4, 2, "charge_mos_sensor_fault"),
    /// Discharge MOSFET temperature sensor fault.
    DischargeMosSensorFault = (4, 3, "discharge_mos_sensor_fault"),
    /// Charge MOSFET stuck on (adhesion).
    ChargeMosAdhesion = (4, 4, "charge_mos_adhesion"),
    /// Discharge MOSFET stuck on (adhesion).
    DischargeMosAdhesion = (4, 5, "discharge_mos_adhesion"),
    /// Charge MOSFET open circuit.
    ChargeMosOpenCircuit = (4, 6, "charge_mos_open_circuit"),
    /// Discharge MOSFET open circuit.
    DischargeMosOpenCircuit = (4, 7, "discharge_mos_open_circuit"),
    /// AFE (front-end) chip fault.
    AfeChipFault = (5, 0, "afe_chip_fault"),
    /// A cell voltage sampling line dropped.
    CellSamplingDropped = (5, 1, "cell_sampling_dropped"),
    /// Cell temperature sensor fault.
    CellTemperatureSensorFault = (5, 2, "cell_temperature_sensor_fault"),
    /// EEPROM fault.
    EepromFault = (5, 3, "eeprom_fault"),
    /// Real-time clock fault.
    RtcFault = (5, 4, "rtc_fault"),
    /// Precharge failed.
    PrechargeFailed = (5, 5, "precharge_failed"),
    /// Vehicle communication fault.
    VehicleCommFault = (5, 6, "vehicle_comm_fault"),
    /// Internal communication fault.
    InternalCommFault = (5, 7, "internal_comm_fault"),
    /// Current module fault.
    CurrentModuleFault = (6, 0, "current_module_fault"),
    /// Total-voltage detection fault.
    PackVoltageDetectFault = (6, 1, "pack_voltage_detect_fault"),
    /// Short-circuit protection fault.
    ShortCircuitProtectFault = (6, 2, "short_circuit_protect_fault"),
    /// Low voltage: charging forbidden.
    LowVoltageChargeForbidden = (6, 3, "low_voltage_charge_forbidden"),
}

/// The seven failure bytes of a 0x98 reply (data bytes 0–6), every bit kept.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FailureFlags(pub [u8; 7]);

impl FailureFlags {
    /// Whether `f` is set.
    pub fn contains(&self, f: Failure) -> bool {
        let (byte, bit) = f.position();
        self.0.get(byte).is_some_and(|b| b & (1 << bit) != 0)
    }

    /// Set or clear `f`.
    pub fn set(&mut self, f: Failure, on: bool) {
        let (byte, bit) = f.position();
        if let Some(b) = self.0.get_mut(byte) {
            if on {
                *b |= 1 << bit;
            } else {
                *b &= !(1 << bit);
            }
        }
    }

    /// The named failures that are set, in wire order.
    pub fn iter(&self) -> impl Iterator<Item = Failure> + '_ {
        Failure::ALL.iter().copied().filter(|f| self.contains(*f))
    }

    /// Set bits without a documented meaning (byte 3 bits 4–7, byte 6 bits 4–7), as a copy
    /// of the seven bytes with only those bits.
    pub fn unnamed(&self) -> [u8; 7] {
        let mut named = FailureFlags::default();
        for f in Failure::ALL {
            named.set(*f, true);
        }
        let mut out = self.0;
        for (o, n) in out.iter_mut().zip(named.0) {
            *o &= !n;
        }
        out
    }

    /// Whether no bit is set.
    pub fn is_empty(&self) -> bool {
        self.0 == [0; 7]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_word_matches_the_failure_table() {
        let f = FailureFlags([0x81, 0, 0, 0xF1, 0, 0, 0x10]);
        assert!(f.flags().eq(f.iter().map(Failure::name)));
        let unnamed = f.unnamed();
        assert_eq!(
            f.unknown_bits(),
            FailureFlags(unnamed).raw(),
            "unknown_bits and unnamed agree"
        );
        assert!(f.is_set(0) && f.is_set(7) && f.is_set(24) && !f.is_set(1));
    }
}
