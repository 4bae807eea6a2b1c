//! What several of the app's tests (and its load benchmark) share: a simulated Soyosource
//! GTN behind a TCP "RS485 bridge" that notes the demand it follows, an MQTT publisher, a
//! wait on the demand, and any `voltwire-sim` port served on TCP from a thread of its own.

#![allow(
    dead_code,
    clippy::expect_used,
    reason = "each test binary uses a part; test set-up"
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use voltwire_core::Watts;
use voltwire_sim::serve::{self, Listen, PortDrop};
use voltwire_soyosource::sim::Gtn;

/// A log function for `voltwire-sim`'s serving layer that drops everything.
pub(crate) fn quiet(_: core::fmt::Arguments<'_>) {}

/// Serves `port` (a station, an RTU port…) on a free TCP port of 127.0.0.1 from a thread
/// with a runtime of its own, for the rest of the process; its address (`host:port`).
///
/// # Panics
/// When the port is not announced within 30 s.
pub(crate) fn serve_tcp<P: serve::Port + Send + 'static>(mut port: P) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the served port");
        rt.block_on(async move {
            let announce = |a: &str| {
                let _ = tx.send(a.to_owned());
                Ok(())
            };
            let _ = serve::serve(
                &mut port,
                Listen::Tcp("127.0.0.1:0".into()),
                PortDrop::Never,
                quiet,
                announce,
                core::future::pending(),
            )
            .await;
        });
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the served port's address")
}

/// Demand the simulated unit follows, in order (one entry per change).
pub(crate) type Seen = Arc<Mutex<Vec<i32>>>;

/// Serves a simulated 2000 W GTN on `listener`, noting each change of its output in `seen`.
pub(crate) async fn serve_gtn(listener: tokio::net::TcpListener, seen: Seen) {
    let start = tokio::time::Instant::now();
    let mut gtn = Gtn::new(Watts(2000), 60_000);
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            return;
        };
        let mut buf = [0u8; 64];
        loop {
            let n = s.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            let now = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
            gtn.receive(now, buf.get(..n).unwrap_or_default());
            let out = gtn.output(now).0;
            let mut v = seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if v.last() != Some(&out) {
                v.push(out);
            }
        }
    }
}

/// Waits until the demand history satisfies `pred` (the timeout only guards a failure).
pub(crate) async fn seen_until(seen: &Seen, what: &str, pred: impl Fn(&[i32]) -> bool) {
    let lock = || {
        seen.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let guard = async {
        while !pred(&lock()) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(60), guard)
        .await
        .is_err()
    {
        panic!("{what}: not reached; demand history {:?}", lock());
    }
}

/// An MQTT client on the broker at `url` (`mqtt://host:port`) whose event loop runs on its
/// own task.
pub(crate) fn publisher(url: &str, id: &str) -> rumqttc::AsyncClient {
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a broker URL with a port");
    let mut o = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(5));
    let (c, mut ev) = rumqttc::AsyncClient::new(o, 64);
    tokio::spawn(async move {
        loop {
            if ev.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    c
}
