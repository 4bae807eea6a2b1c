//! voltwire-pylontech RS485: requests (device side, as a stream) and responses (host side), both
//! directions.
#![no_std]
#![no_main]

use voltwire_asciihex::MAX_FRAME_LEN;

use voltwire_core::{Emit, ScanDecoder, StreamDecoder};
use voltwire_pylontech::rs485::{
    Frame, MAX_REQUEST_INFO, Request, RequestBody, Requests, Response, SizedRequest, SizedRequests,
    SizedResponse, Target,
};
use voltwire_size_probe::{byte, input, probe_main, sink};

/// Requests are short (the longest real one, a write, is under 100 bytes), and every shape
/// the crate knows fits a `SizedRequest<MAX_REQUEST_INFO>` (a longer one is a capacity error).
type RequestDecoder = ScanDecoder<SizedRequests<MAX_REQUEST_INFO>, 256>;
type SmallRequest = SizedRequest<MAX_REQUEST_INFO>;
type FullRequestDecoder = ScanDecoder<Requests, MAX_FRAME_LEN>;
/// A host polling one module at a time: replies of one module, INFO up to 128 bytes (a
/// 16-cell analog reply carries 61).
const INFO: usize = 128;
type SmallFrame = Frame<INFO>;
type SmallResponse = SizedResponse<1, INFO>;

fn probe() {
    let mut out = [0u8; 256];
    let mut decoder = RequestDecoder::new();
    decoder.feed_all(input(), |item| {
        if let Ok(r) = item.value {
            if let Ok(f) = r.to_frame_sized() {
                sink(f.emit(&mut out));
            }
        }
    });
    sink(decoder.finish());
    // Host: a request built and sent, the reply read and paired with it.
    let request = SmallRequest::new(byte(), RequestBody::Analog(Target::from_byte(byte())));
    if let Ok(f) = request.to_frame_sized() {
        sink(f.emit(&mut out));
    }
    if let Ok(f) = SmallFrame::parse_sized(input()) {
        let response = SmallResponse::from_frame(&f, byte());
        if let Ok(f) = response.to_frame() {
            sink(f.emit(&mut out));
        }
        sink(response.answers(&request));
    }
}

probe_main! { probe;
    info "pylontech::rs485 Requests decoder (MAX_FRAME_LEN)" => FullRequestDecoder,
    decoder "pylontech::rs485 ScanDecoder<SizedRequests<16>, 256>" => RequestDecoder,
    info "pylontech::rs485::Request (default, any INFO)" => Request,
    message "pylontech::rs485::SizedRequest<16>" => SmallRequest,
    info "pylontech::rs485::Response (default, any reply)" => Response,
    message "pylontech::rs485::SizedResponse<1, 128>" => SmallResponse,
    message "pylontech::rs485::Frame<128>" => SmallFrame,
}
