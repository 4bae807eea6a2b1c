//! Pylontech RS485 INFO decoders, both roles, on arbitrary INFO: the first byte picks the
//! command, the second the RTN; every reading is total and re-emits the same frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_pylontech::rs485::{Frame, Request, Response};

fuzz_target!(|data: &[u8]| {
    let [cid2, rtn, info @ ..] = data else { return };
    let Ok(resp) = Frame::new(0x20, 2, 0x46, *rtn, info) else {
        return;
    };
    let r = Response::from_frame(&resp, *cid2);
    assert_eq!(r.to_frame().as_ref(), Ok(&resp));
    let req = Frame::new(0x20, 2, 0x46, *cid2, info).unwrap();
    let q = Request::from_frame(&req);
    assert_eq!(q.to_frame().as_ref(), Ok(&req));
    let _ = r.answers(&q);
});
