//! Any register block and any bytes: the Modbus maps decode without panicking, and what
//! decodes encodes back to the same registers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_modbus::{coulomb_meter, lumentree, rtu};

fuzz_target!(|data: &[u8]| {
    let regs: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    if let Ok(s) = lumentree::Status::from_registers(&regs) {
        assert_eq!(s.to_registers().unwrap().as_slice(), &regs[..]);
    }
    if let Ok(s) = lumentree::Status::from_block(&regs) {
        let again = lumentree::Status::from_block(&s.to_block().unwrap()).unwrap();
        assert_eq!(again, s);
    }
    if let Ok(s) = coulomb_meter::Status::from_registers(&regs) {
        assert_eq!(s.to_registers().unwrap().as_slice(), &regs[..]);
    }
    if let Ok(s) = coulomb_meter::Settings::from_registers(&regs) {
        assert_eq!(s.to_registers().unwrap().as_slice(), &regs[..]);
    }
    if let Some(&raw) = regs.first() {
        if let Ok(p) = lumentree::SetOutputPower::from_register(raw) {
            assert_eq!(p.to_register(), raw);
        }
    }
    let _ = rtu::verify(data);
    if let Ok((address, cmd)) = coulomb_meter::SetChargeLevel::parse(data) {
        let mut b = [0u8; 8];
        assert_eq!(cmd.emit(address, &mut b), Ok(8));
        assert_eq!(&b[..], data);
    }
});
