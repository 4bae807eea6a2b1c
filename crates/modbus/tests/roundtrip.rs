//! Property tests: registers → reading → registers is the identity for every block a device
//! can send, decoding never panics on any block, and the 0x6F frame round-trips.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    reason = "test code"
)]

use proptest::prelude::*;
use voltwire_modbus::{coulomb_meter, lumentree, trucki};

/// A temperature register the units can hold (±3276 °C).
fn temp_register() -> impl Strategy<Value = u16> {
    (-3276i16..=3276).prop_map(|t| u16::from_be_bytes(t.to_be_bytes()))
}

proptest! {
    #[test]
    fn trucki_status_and_set_point_round_trip(regs in proptest::array::uniform8(any::<u16>())) {
        let s = trucki::Status::from_registers(&regs).unwrap();
        prop_assert_eq!(s.to_registers().unwrap(), regs);
        prop_assert_eq!(trucki::SetPower::from_register(regs[0]).to_register(), regs[0]);
        prop_assert!(trucki::Status::from_registers(&regs[..7]).is_err());
    }

    #[test]
    fn lumentree_status_round_trips(regs in proptest::array::uniform4(any::<u16>())) {
        let s = lumentree::Status::from_registers(&regs).unwrap();
        prop_assert_eq!(s.to_registers().unwrap(), regs);
        let block = s.to_block().unwrap();
        prop_assert_eq!(lumentree::Status::from_block(&block).unwrap(), s);
    }

    #[test]
    fn lumentree_set_point_round_trips(raw in any::<u16>()) {
        match lumentree::SetOutputPower::from_register(raw) {
            Ok(s) => prop_assert_eq!(s.to_register(), raw),
            Err(_) => prop_assert!(raw > 2000),
        }
    }

    #[test]
    fn meter_status_round_trips(
        soc in 0u16..=3276,
        temp in temp_register(),
        rest in proptest::array::uniform9(any::<u16>()),
        state in 0u16..=5,
    ) {
        let mut regs = [0u16; 12];
        regs[0] = soc;
        regs[1] = temp;
        regs[2..11].copy_from_slice(&rest);
        regs[11] = state;
        let s = coulomb_meter::Status::from_registers(&regs).unwrap();
        prop_assert_eq!(s.to_registers().unwrap(), regs);
    }

    #[test]
    fn meter_settings_round_trip(
        head in proptest::array::uniform7(any::<u16>()),
        temp in temp_register(),
        uv in any::<u16>(),
        low in 0u16..=3276,
    ) {
        let mut regs = [0u16; 10];
        regs[..7].copy_from_slice(&head);
        regs[7] = temp;
        regs[8] = uv;
        regs[9] = low;
        let s = coulomb_meter::Settings::from_registers(&regs).unwrap();
        prop_assert_eq!(s.to_registers().unwrap(), regs);
    }

    #[test]
    fn decoding_is_total(regs in proptest::collection::vec(any::<u16>(), 0..64)) {
        let _ = lumentree::Status::from_registers(&regs);
        let _ = lumentree::Status::from_block(&regs);
        let _ = coulomb_meter::Status::from_registers(&regs);
        let _ = coulomb_meter::Settings::from_registers(&regs);
    }

    #[test]
    fn charge_level_frames_round_trip(address in any::<u8>(), value in any::<u16>()) {
        let cmd = coulomb_meter::SetChargeLevel::from_value(value);
        let mut b = [0u8; 8];
        cmd.emit(address, &mut b).unwrap();
        prop_assert_eq!(coulomb_meter::SetChargeLevel::parse(&b), Ok((address, cmd)));
    }

    #[test]
    fn charge_level_parse_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
        let _ = coulomb_meter::SetChargeLevel::parse(&bytes);
        let _ = voltwire_modbus::rtu::verify(&bytes);
    }
}
