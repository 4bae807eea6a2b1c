//! Read a JK-PB's status table over FC 0x03 with `voltwire-runtime`'s poller and print it as
//! one JSON object: `jk_pb_read serial:///dev/ttyUSB0?baud=115200 [ADDRESS]`.
//!
//! It reads what jkctl reads (register = 0x1200 + payload byte offset, big-endian fields),
//! in chunks of 32 registers, turns the image back into a status block
//! (`voltwire_jk::pb_map::swap_fields`) and decodes it with `voltwire_jk::pb`. The JSON is
//! the crate's (`voltwire_jk` feature `serde`): `{"address": N, ...status block}`, the same
//! keys as a status block from `voltwire decode jk-pb`.

#![allow(clippy::std_instead_of_core, reason = "std example")]

use std::process::ExitCode;
use std::time::Duration;

use voltwire_core::Emit as _;
use voltwire_jk::pb::{Block, BlockKind, Message, PbDecoder, Status};
use voltwire_jk::pb_map;
use voltwire_runtime::link::{Link, LinkUrl};
use voltwire_runtime::poll::{PollConfig, Poller};

async fn read(url: &LinkUrl, address: u8) -> Result<Reading, String> {
    let link = Link::open(url).await.map_err(|e| format!("{url}: {e}"))?;
    let config = PollConfig {
        timeout: Duration::from_millis(500),
        retries: 2,
        gap: Duration::from_millis(50),
        echo: false,
    };
    let mut poller = Poller::new(link, PbDecoder::new(), config);
    let mut block = Block::new(BlockKind::Status);
    // Payload 0..256: cells, resistances, temperatures, pack, SOC, MOSFETs, T3/T4.
    for chunk in 0..4_u16 {
        let register = pb_map::table_register(BlockKind::Status).unwrap_or(0x1200) + 64 * chunk;
        let req = Message::ReadRequest {
            address,
            register,
            quantity: 32,
        };
        let mut buf = [0_u8; 8];
        let n = req.emit(&mut buf).map_err(|e| e.to_string())?;
        let reply = poller
            .request(
                buf.get(..n).unwrap_or_default(),
                |m| matches!(m, Ok(Message::ReadResponse { address: a, .. }) if *a == address),
            )
            .await
            .map_err(|e| format!("read {register:#06x}: {e}"))?;
        if let Ok(Message::ReadResponse { data, .. }) = reply {
            let at = pb_map::PAYLOAD_OFFSET + 64 * usize::from(chunk);
            if let Some(d) = block.0.get_mut(at..at + data.len()) {
                d.copy_from_slice(&data);
            }
        }
    }
    pb_map::swap_fields(&mut block);
    let status = block.status().ok_or("not a status block")?;
    Ok(Reading { address, status })
}

/// What the example prints: the address it asked and the status block, in the crate's own
/// JSON shape (`voltwire_jk`'s `serde` feature, `docs/json.md`), so the keys are the ones
/// `voltwire decode jk-pb` prints for a status block.
#[derive(serde::Serialize)]
struct Reading {
    address: u8,
    #[serde(flatten)]
    status: Status,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(url) = args.get(1).and_then(|u| u.parse::<LinkUrl>().ok()) else {
        eprintln!("usage: jk_pb_read serial:///dev/ttyUSB0?baud=115200 [ADDRESS]");
        return ExitCode::from(2);
    };
    let address = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("jk_pb_read: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(read(&url, address)) {
        Ok(r) => match serde_json::to_string(&r) {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("jk_pb_read: {e}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("jk_pb_read: {e}");
            ExitCode::from(1)
        }
    }
}
