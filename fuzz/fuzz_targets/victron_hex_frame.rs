//! VE.Direct HEX frames from arbitrary bytes: a line that parses must emit back to a line
//! that parses to the same frame, and every message reading of a frame must encode back to
//! it. Because the 0x55 checksum keeps most mutated lines away from the message decoders,
//! the input is also used directly as command nibble + payload (no checksum involved).
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_victron::hex::{Frame, MAX_LINE_LEN, Message, Request, Response};

fn check(frame: &Frame) {
    // Emit → parse is the identity.
    let line = frame.to_line();
    assert_eq!(line.len(), frame.buffer_len());
    assert!(line.len() < MAX_LINE_LEN);
    assert_eq!(Frame::parse(&line).as_ref(), Ok(frame));
    let mut buf = [0u8; MAX_LINE_LEN];
    assert_eq!(frame.emit(&mut buf), Ok(line.len()));
    assert!(frame.emit(&mut buf[..line.len() - 1]).is_err());

    // Both readings: whatever decodes encodes back to the same frame.
    if let Ok(request) = Request::from_frame(frame) {
        assert_eq!(request.to_frame().as_ref(), Ok(frame));
    }
    if let Ok(response) = Response::from_frame(frame) {
        assert_eq!(response.to_frame().as_ref(), Ok(frame));
        if let Some(data) = response.register_data() {
            if let (Ok(value), Some(info)) = (data.decode(), data.info()) {
                assert_eq!(value.encode(info).as_deref(), Ok(data.value.as_slice()));
                if let Some(reading) = value.reading() {
                    let _ = (reading.si_value(), reading.si_unit());
                }
            }
        }
    }
    let _ = Message::classify(frame);
}

fuzz_target!(|data: &[u8]| {
    // The bytes as one line (as the TEXT decoder hands over a `:`…`\n` run).
    if let Ok(frame) = Frame::parse(data) {
        check(&frame);
    }
    // Past the checksum: first byte = command nibble, the rest = payload.
    if let Some((&command, payload)) = data.split_first() {
        if let Ok(frame) = Frame::new(command & 0x0F, payload) {
            check(&frame);
        }
    }
});
