//! voltwire-daly: the frame decoder, requests and responses both ways, the multi-frame
//! assembler.
#![no_std]
#![no_main]

use voltwire_core::StreamDecoder;
use voltwire_daly::{Assembler, Decoder, RawFrame, Request, Response, Series, Variant};
use voltwire_size_probe::{byte, input, opaque, probe_main, sink};

fn frame(f: &RawFrame, variant: &Variant, assembler: &mut Assembler) {
    let mut out = [0u8; 16];
    if f.is_request() {
        let request = Request::parse(f);
        sink(request.emit(f.address, &mut out));
    } else if let Ok(response) = Response::parse(f, variant) {
        sink(response.emit(f.address, variant, &mut out));
        sink(assembler.push(f));
    }
}

fn probe() {
    let variant = opaque(Variant::RS485);
    let mut assembler = Assembler::new(opaque(Series::CellVoltages));
    let mut decoder = Decoder::new();
    decoder.feed_all(input(), |item| {
        if let Ok(f) = item.value {
            frame(&f, &variant, &mut assembler);
        }
    });
    sink(decoder.finish());
    if let Ok(f) = RawFrame::parse(input()) {
        frame(&f, &variant, &mut assembler);
    }
    sink(assembler.cell_voltage(byte()));
    sink(assembler.temperature(byte()));
    let mut text = [0u8; 64];
    sink(assembler.text(&mut text));
}

probe_main! { probe;
    decoder "daly::Decoder" => Decoder,
    decoder "daly::Assembler" => Assembler,
    info "daly::RawFrame" => RawFrame,
    info "daly::Request" => Request,
    info "daly::Response" => Response,
}
