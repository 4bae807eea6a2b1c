//! voltwire-victron: TEXT records (decoder, assembler, typed record) and HEX frames, both
//! directions.
#![no_std]
#![no_main]

use voltwire_core::StreamDecoder;
use voltwire_size_probe::{byte, input, probe_main, sink};
use voltwire_victron::hex::{
    self, DayRecord, Frame, RegisterValue, Request, Response, TotalRecord,
};
use voltwire_victron::text::{self, Message, MessageRef, Record, RecordDecoder};

fn hex_frame(frame: &Frame) {
    let mut out = [0u8; hex::MAX_LINE_LEN];
    sink(frame.emit(&mut out));
    if let Ok(request) = Request::from_frame(frame) {
        sink(request.to_frame());
    }
    if let Ok(response) = Response::from_frame(frame) {
        sink(response.to_frame());
        if let Some(data) = response.register_data() {
            sink(data.decode());
        }
    }
}

fn record(record: &Record) {
    let mut out = [0u8; 1024];
    sink(record.emit(&mut out));
    // Typed access: `get` serves every label (the named accessors are thin wrappers).
    if let Some(&label) = text::Label::ALL.get(usize::from(byte())) {
        sink(record.get(label));
    }
    sink(record.battery_voltage());
}

fn probe() {
    let mut decoder = RecordDecoder::<256>::sized();
    // The lending form: no 1.2 KiB record is moved (or held on the stack) per item.
    decoder.feed_all_ref(input(), |item| match item.value {
        Ok(MessageRef::Record(r)) => record(r),
        Ok(MessageRef::Hex(f)) => hex_frame(&f),
        Ok(_) => {}
        Err(e) => sink(e),
    });
    while let Some(item) = decoder.finish() {
        sink(item);
    }
    if let Ok(f) = Frame::parse(input()) {
        hex_frame(&f);
    }
    if let Ok(v) = RegisterValue::decode_register(u16::from(byte()), input()) {
        if let Some(info) = hex::lookup(u16::from(byte())) {
            sink(v.encode(info));
        }
    }
    let mut out = [0u8; 64];
    if let Ok(d) = DayRecord::parse(input()) {
        sink(d.emit(&mut out));
    }
    if let Ok(t) = TotalRecord::parse(input()) {
        sink(t.emit(&mut out));
    }
    sink(text::emit_block(
        &[("V", "12800"), ("I", "-1500")],
        &mut out,
    ));
}

probe_main! { probe;
    info "victron::text::RecordDecoder (default, 1024)" => RecordDecoder,
    info "victron::text::RecordDecoder<256>" => RecordDecoder<256>,
    info "victron::text::Decoder (default, 1024)" => text::Decoder,
    decoder "victron::text::Decoder<256>" => text::Decoder<256>,
    info "victron::text::Assembler" => text::Assembler,
    info "victron::text::Record" => Record,
    info "victron::text::Message" => Message,
    info "victron::hex::Frame" => Frame,
    info "victron::hex::Request" => Request,
    info "victron::hex::Response" => Response,
}
