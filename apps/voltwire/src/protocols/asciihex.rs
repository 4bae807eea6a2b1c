//! The ASCII-hex frame walk shared by `pace` and `pylontech_rs485`.
//!
//! Frames whose CID2 is a return code are responses; a response is decoded as the answer to
//! `--command`, else to the request to the same address seen just before it, else reported
//! undecoded with its raw INFO. The JSON is the crates' (`voltwire_asciihex::json`).

use serde_json::Map;
use voltwire_asciihex::json::JsonBody;
use voltwire_asciihex::message::{Request, RequestBody, Response, ResponseBody};
use voltwire_asciihex::{Found, Frame, scan_frame};

use super::{Decode, Options, Walk, Window};
use crate::output::Output;

/// A streaming decoder of every frame (`is_rtn` tells responses): requests as `Q`, responses
/// whose command is known as `R`, the others with their raw INFO.
pub(super) fn decoder<Q, R>(opts: &Options, is_rtn: fn(u8) -> bool) -> Box<dyn Decode>
where
    Q: RequestBody + JsonBody + 'static,
    R: ResponseBody + JsonBody + 'static,
{
    Box::new(Window::new(Frames::<Q, R> {
        command: opts.command,
        last: None,
        is_rtn,
        bodies: core::marker::PhantomData,
    }))
}

/// The frame walk: reports corrupt frames, classifies and pairs the others.
struct Frames<Q, R> {
    /// `--command`.
    command: Option<u8>,
    /// The last request seen (address, command), which the next response may answer.
    last: Option<(u8, u8)>,
    is_rtn: fn(u8) -> bool,
    bodies: core::marker::PhantomData<fn() -> (Q, R)>,
}

impl<Q: RequestBody + JsonBody, R: ResponseBody + JsonBody> Frames<Q, R> {
    fn emit(offset: u64, item: Item<'_>, out: &mut Output) {
        match item {
            Item::Request(f) => {
                let r = Request::<Q>::from_frame(f);
                out.message_ser(r.json_type(), offset, (), &r.json());
            }
            Item::Response(f, Some(cmd)) => {
                let r = Response::<R>::from_frame(f, cmd);
                out.message_ser(r.json_type(), offset, (), &r.json());
            }
            Item::Response(f, None) => out.message_ser("response", offset, (), &f.reply_json()),
        }
    }
}

/// One frame of the walk.
#[derive(Clone, Copy)]
enum Item<'a> {
    /// A frame whose CID2 is a command.
    Request(&'a Frame),
    /// A frame whose CID2 is a return code, with the command it answers if known.
    Response(&'a Frame, Option<u8>),
}

impl<Q: RequestBody + JsonBody, R: ResponseBody + JsonBody> Walk for Frames<Q, R> {
    fn walk(&mut self, bytes: &[u8], base: u64, last: bool, out: &mut Output) -> usize {
        let mut pos = 0usize;
        while pos < bytes.len() {
            let rest = bytes.get(pos..).unwrap_or_default();
            match scan_frame(rest) {
                Found::Incomplete { skip } if !last => return pos + skip,
                Found::Incomplete { skip } => {
                    if skip < rest.len() {
                        let mut extra = Map::new();
                        extra.insert(
                            "raw".into(),
                            String::from_utf8_lossy(rest.get(skip..).unwrap_or_default()).into(),
                        );
                        out.error(
                            base + (pos + skip) as u64,
                            "truncated",
                            "frame cut off at the end of the input",
                            extra,
                        );
                    }
                    return bytes.len();
                }
                Found::Corrupt { skip, len, error } => {
                    let at = pos + skip;
                    let mut extra = Map::new();
                    extra.insert(
                        "raw".into(),
                        String::from_utf8_lossy(bytes.get(at..at + len).unwrap_or_default())
                            .trim_end()
                            .into(),
                    );
                    out.error(base + at as u64, error.code(), &error.to_string(), extra);
                    pos = at + len;
                }
                Found::Frame { skip, len } => {
                    let at = pos + skip;
                    pos = at + len;
                    let Ok(frame) = Frame::parse(bytes.get(at..pos).unwrap_or_default()) else {
                        continue;
                    };
                    let offset = base + at as u64;
                    if (self.is_rtn)(frame.cid2) {
                        let paired = self
                            .last
                            .take()
                            .filter(|(adr, _)| *adr == frame.adr)
                            .map(|(_, c)| c);
                        let answers = self.command.or(paired);
                        Self::emit(offset, Item::Response(&frame, answers), out);
                    } else {
                        self.last = Some((frame.adr, frame.cid2));
                        Self::emit(offset, Item::Request(&frame), out);
                    }
                }
            }
        }
        pos
    }
}
