//! The capture manifests under `testdata/` (`expected.json`, computed independently by each
//! protocol's `tools/make_testdata.py`) and the walk every ASCII-hex protocol's capture test
//! makes over them. Shared by the Pace and Pylontech RS485 capture tests (`#[path]`).

#![allow(dead_code, reason = "each test uses what it needs")]

use core::fmt::Debug;

use serde_json::Value;
use voltwire_asciihex::message::{Request, RequestBody, Response, ResponseBody};
use voltwire_asciihex::{Frame, MAX_INFO_LEN};
use voltwire_core::StreamDecoder as _;

/// The capture folder `sub` of testdata (`$VOLTWIRE_TESTDATA` overrides the root).
pub(crate) fn dir(sub: &str) -> String {
    std::env::var("VOLTWIRE_TESTDATA").map_or_else(
        |_| format!("{}/testdata/{sub}", env!("CARGO_MANIFEST_DIR")),
        |d| format!("{d}/{sub}"),
    )
}

/// Each manifest entry with the bytes of its file.
pub(crate) fn entries(sub: &str) -> Vec<(Value, Vec<u8>)> {
    let manifest = std::fs::read_to_string(format!("{}/expected.json", dir(sub))).unwrap();
    let e: Vec<Value> = serde_json::from_str(&manifest).unwrap();
    e.into_iter()
        .map(|v| {
            let file = format!("{}/{}", dir(sub), v["file"].as_str().unwrap());
            (v, std::fs::read(file).unwrap())
        })
        .collect()
}

/// A manifest integer.
pub(crate) fn i(v: &Value) -> i64 {
    v.as_i64().unwrap()
}

/// Every capture of `sub`: one whose checksum fails is rejected; the others re-emit
/// byte-exact as frames, requests decode to a shape `known` accepts and re-encode to the
/// frame, responses pass `check` against the manifest and re-encode byte-exact. Returns the
/// number of valid captures.
pub(crate) fn every_capture<Q, R>(
    sub: &str,
    known: impl Fn(&Q) -> bool,
    check: impl Fn(&Response<R>, &Value),
) -> usize
where
    Q: RequestBody + Debug,
    R: ResponseBody<Request<MAX_INFO_LEN> = Q> + Debug,
{
    let mut n = 0;
    for (e, bytes) in entries(sub) {
        let parsed = Frame::parse(&bytes);
        if !e["checksum_ok"].as_bool().unwrap() {
            assert!(parsed.is_err(), "{} must be rejected", e["file"]);
            continue;
        }
        let frame = parsed.unwrap();
        assert_eq!(frame.to_bytes().as_slice(), bytes.as_slice());
        if e["direction"] == "request" {
            let r = Request::<Q>::from_frame(&frame);
            assert!(known(&r.body), "{}: {r:?}", e["file"]);
            assert_eq!(r.to_frame().unwrap(), frame);
        } else {
            let command = u8::try_from(i(&e["command"])).unwrap();
            let r = Response::<R>::from_frame(&frame, command);
            check(&r, &e["decoded"]);
            let out = r.to_frame().unwrap().to_bytes();
            assert_eq!(out.as_slice(), bytes.as_slice(), "{} re-emits", e["file"]);
        }
        n += 1;
    }
    n
}

/// What reading every valid response capture of `sub` into a caller-sized `Frame<N>` and
/// response body `S` gave: `(same, undecoded, refused)` — decoded as the default-sized body
/// `R` decodes it, kept undecoded because `fits` says the default reading has more blocks
/// than `S` holds, or refused with [`voltwire_asciihex::Error::Capacity`] (INFO above `N`).
/// Each one checks its case: the same `Debug` rendering as the default, the undecoded body of
/// the same INFO, or the capacity error naming the INFO length; the first two re-emit
/// byte-exact.
pub(crate) fn caller_sized<R, S, const N: usize>(
    sub: &str,
    fits: impl Fn(&Response<R>) -> bool,
) -> (usize, usize, usize)
where
    R: ResponseBody + Debug,
    S: ResponseBody<N> + Debug + PartialEq,
{
    let (mut same, mut undecoded, mut refused) = (0, 0, 0);
    for (e, bytes) in entries(sub) {
        if !e["checksum_ok"].as_bool().unwrap() || e["direction"] == "request" {
            continue;
        }
        let command = u8::try_from(i(&e["command"])).unwrap();
        let full = Frame::parse(&bytes).unwrap();
        let default = Response::<R>::from_frame(&full, command);
        match Frame::<N>::parse_sized(&bytes) {
            Err(voltwire_asciihex::Error::Capacity { len, capacity }) => {
                assert_eq!((len, capacity), (full.info.len(), N), "{}", e["file"]);
                assert!(len > N);
                refused += 1;
            }
            Err(other) => panic!("{}: {other:?}", e["file"]),
            Ok(small) => {
                assert_eq!(small.info.as_slice(), full.info.as_slice());
                let r = Response::<S>::from_frame(&small, command);
                if fits(&default) {
                    assert_eq!(format!("{r:?}"), format!("{default:?}"), "{}", e["file"]);
                    same += 1;
                } else {
                    assert_eq!(r.body, S::undecoded(command, small.info.clone()));
                    undecoded += 1;
                }
                let out: Frame<N> = r.to_frame().unwrap();
                assert_eq!(out.to_bytes().as_slice(), bytes.as_slice(), "{}", e["file"]);
            }
        }
    }
    (same, undecoded, refused)
}

/// What reading every valid request capture of `sub` into a caller-sized `Frame<N>` and
/// request body `S` gave: `(same, refused)` — decoded as the default-sized body `Q` decodes
/// it (the same `Debug` rendering, byte-exact re-emit through `Frame<N>`, and the same
/// `answers` verdict of `response` on the default and the sized request), or refused with
/// [`voltwire_asciihex::Error::Capacity`] naming the INFO length. A stream decoder of
/// `Requests<S, N>` over all of them (noise between, small chunks) yields the same items.
pub(crate) fn caller_sized_requests<Q, S, R, const N: usize>(
    sub: &str,
    response: &Response<R>,
) -> (usize, usize)
where
    Q: RequestBody + Debug,
    S: RequestBody<N> + Debug,
    R: ResponseBody<Request<MAX_INFO_LEN> = Q> + ResponseBody<Request<N> = S>,
{
    let (mut same, mut refused) = (0, 0);
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for (e, bytes) in entries(sub) {
        if !e["checksum_ok"].as_bool().unwrap() || e["direction"] != "request" {
            continue;
        }
        stream.extend_from_slice(b"\x00noise\n");
        stream.extend_from_slice(&bytes);
        let default = Request::<Q>::from_frame(&Frame::parse(&bytes).unwrap());
        match Frame::<N>::parse_sized(&bytes) {
            Err(voltwire_asciihex::Error::Capacity { len, capacity }) => {
                assert_eq!(capacity, N, "{}", e["file"]);
                assert!(len > N, "{}", e["file"]);
                expected.push(format!(
                    "{:?}",
                    voltwire_asciihex::Error::Capacity { len, capacity }
                ));
                refused += 1;
            }
            Err(other) => panic!("{}: {other:?}", e["file"]),
            Ok(small) => {
                let r = Request::<S>::from_frame_sized(&small);
                assert_eq!(format!("{r:?}"), format!("{default:?}"), "{}", e["file"]);
                let out: Frame<N> = r.to_frame_sized().unwrap();
                assert_eq!(out.to_bytes().as_slice(), bytes.as_slice(), "{}", e["file"]);
                // Turbofish: in this generic helper the capacities cannot be inferred
                // through `R::Request<K>` (with concrete types they are).
                assert_eq!(
                    response.answers::<MAX_INFO_LEN, N>(&r),
                    response.answers::<MAX_INFO_LEN, MAX_INFO_LEN>(&default),
                    "{}",
                    e["file"]
                );
                expected.push(format!("{r:?}"));
                same += 1;
            }
        }
    }
    for chunk in [1, 5, stream.len()] {
        let mut d =
            voltwire_core::ScanDecoder::<voltwire_asciihex::message::Requests<S, N>, 256>::new();
        let mut got = Vec::new();
        for c in stream.chunks(chunk) {
            d.feed_all(c, |item| match item.value {
                Ok(r) => got.push(format!("{r:?}")),
                Err(e) => got.push(format!("{e:?}")),
            });
        }
        assert_eq!(got, expected, "chunk {chunk}");
    }
    (same, refused)
}

/// All captures of `sub` with noise between them decode to one item each (checksum failures
/// as error items) in any chunking.
pub(crate) fn stream_in_small_chunks(sub: &str) {
    let mut all = Vec::new();
    let (mut valid, mut invalid) = (0, 0);
    for (e, bytes) in entries(sub) {
        all.extend_from_slice(b"\x00noise\n");
        all.extend_from_slice(&bytes);
        if e["checksum_ok"].as_bool().unwrap() {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    for chunk in [1, 3, 7, 64, all.len()] {
        let mut d = voltwire_asciihex::Decoder::new();
        let (mut frames, mut errors) = (0, 0);
        for c in all.chunks(chunk) {
            d.feed_all(c, |item| match item.value {
                Ok(_) => frames += 1,
                Err(voltwire_asciihex::Error::Checksum { .. }) => errors += 1,
                Err(e) => panic!("unexpected error {e:?}"),
            });
        }
        assert_eq!((frames, errors), (valid, invalid), "chunk {chunk}");
    }
}
