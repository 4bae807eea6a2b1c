//! Serving a simulated device to the bridge in tests: on an in-process pipe (paused clock) or
//! on a real pty (`voltwire_sim::serve`). Each test binary uses part of it.
#![allow(dead_code, reason = "each test binary uses part of the support")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};
use tokio::sync::oneshot;
use voltwire_sim::serve::{self, Listen, PortDrop, SerialStation};
use voltwire_sim::{PackConfig, Plant, PlantCommand, SerialResponder};

/// Shared between a test and a serving task.
pub(crate) type Shared<T> = Arc<Mutex<T>>;

/// A simulated device, shared so a test can set its faults.
pub(crate) type Device = Shared<Box<dyn SerialResponder + Send>>;

/// A device to share.
pub(crate) fn device(d: impl SerialResponder + Send + 'static) -> Device {
    Arc::new(Mutex::new(Box::new(d)))
}

/// `dev` on its end of a pipe: requests in (also appended to `heard`), replies out, the
/// device's plant commands (MOSFET switches) applied. Time is tokio's since the start.
pub(crate) async fn serve_pipe(
    plant: Shared<Plant>,
    dev: Device,
    heard: Shared<Vec<u8>>,
    mut pipe: DuplexStream,
) {
    let start = tokio::time::Instant::now();
    let mut buf = [0u8; 512];
    loop {
        let n = match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        heard.lock().unwrap().extend_from_slice(&buf[..n]);
        let mut out = Vec::new();
        {
            let mut p = plant.lock().unwrap();
            let now = p.advance_to(start.elapsed());
            let mut d = dev.lock().unwrap();
            d.on_bytes(&buf[..n], now, &p, &mut out);
            let mut cmds: Vec<PlantCommand> = Vec::new();
            d.drain_commands(&mut cmds);
            p.apply(cmds);
        }
        if pipe.write_all(&out).await.is_err() {
            return;
        }
    }
}

fn log(_: core::fmt::Arguments<'_>) {}

/// Serve `device` over an 8-cell pack at 50 % on a new pty; its path. The serving future is
/// not Send: its own thread and runtime (ended with the process).
pub(crate) async fn serve_on_pty(device: Box<dyn SerialResponder + Send>) -> String {
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let plant = Plant::new(vec![PackConfig {
                cells: 8,
                initial_soc: 0.5,
                ..PackConfig::default()
            }]);
            let mut station = SerialStation::new(plant, device, 1.0);
            let mut tx = Some(tx);
            let r = serve::serve(
                &mut station,
                Listen::Pty,
                PortDrop::Never,
                log,
                |path| {
                    let _ = tx.take().unwrap().send(path.to_owned());
                    Ok(())
                },
                std::future::pending(),
            )
            .await;
            panic!("serving ended: {r:?}");
        });
    });
    tokio::time::timeout(Duration::from_secs(60), rx)
        .await
        .unwrap()
        .unwrap()
}
