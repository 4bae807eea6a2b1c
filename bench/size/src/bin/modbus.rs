//! voltwire-modbus: RTU framing and the coulomb meter and Lumentree register maps.
#![no_std]
#![no_main]

use voltwire_modbus::{coulomb_meter, lumentree, rtu};
use voltwire_size_probe::{byte, input, opaque, probe_main, sink};

fn probe() {
    let mut out = [0u8; 64];
    sink(rtu::verify(input()));
    sink(rtu::read_request(
        byte(),
        byte(),
        opaque(0),
        opaque(0),
        &mut out,
    ));
    let regs = opaque([0u16; 32]);
    if let Ok(s) = coulomb_meter::Status::from_registers(&regs) {
        sink(s.to_registers());
    }
    if let Ok(s) = coulomb_meter::Settings::from_registers(&regs) {
        sink(s.to_registers());
    }
    if let Ok((address, set)) = coulomb_meter::SetChargeLevel::parse(input()) {
        sink(set.emit(address, &mut out));
    }
    if let Ok(s) = lumentree::Status::from_block(&regs) {
        sink(s.to_block());
    }
}

probe_main! { probe;
    info "modbus::coulomb_meter::Status" => coulomb_meter::Status,
}
