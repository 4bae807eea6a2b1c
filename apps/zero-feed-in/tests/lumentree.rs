//! The Lumentree device task against a simulated SUN-600 served by `tokio-modbus` (RTU over
//! TCP): re-zeroed when it appears, after a restart at full power and after it stopped
//! answering; the set point followed; 0 W on stop. Order and content only; timeouts guard.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::panic
)]

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio_modbus::server::Service;
use tokio_modbus::server::rtu_over_tcp::Server;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};
use voltwire_core::Watts;
use voltwire_modbus::lumentree;
use voltwire_zero_feed_in_rules::{DeviceCommand, DeviceStatus};
use zero_feed_in::engine::Clock;
use zero_feed_in::lumentree::{Lumentree, run};

#[derive(Debug)]
struct Unit {
    /// Output in 0.1 W: full power at start.
    output: u16,
    /// Every set point written, in order.
    writes: Vec<u16>,
    /// Answer nothing but exceptions.
    silent: bool,
}

#[derive(Clone)]
struct Sim(Arc<Mutex<Unit>>);

impl Service for Sim {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Pin<Box<dyn Future<Output = Result<Option<Response>, ExceptionCode>> + Send>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let mut u = self.0.lock().unwrap();
        let r = if u.silent {
            Err(ExceptionCode::ServerDeviceBusy)
        } else {
            match &req.request {
                Request::ReadHoldingRegisters(lumentree::OUTPUT_POWER, 1) => {
                    Ok(Some(Response::ReadHoldingRegisters(vec![u.output])))
                }
                Request::WriteMultipleRegisters(lumentree::SET_OUTPUT_POWER, v) if v.len() == 1 => {
                    u.writes.push(v[0]);
                    u.output = v[0] * 10;
                    Ok(Some(Response::WriteMultipleRegisters(
                        lumentree::SET_OUTPUT_POWER,
                        1,
                    )))
                }
                _ => Err(ExceptionCode::IllegalDataAddress),
            }
        };
        Box::pin(async move { r })
    }
}

async fn until(unit: &Arc<Mutex<Unit>>, what: &str, pred: impl Fn(&Unit) -> bool) {
    for _ in 0..300 {
        if pred(&unit.lock().unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not reached; {:?}", unit.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_zeroed_on_every_reappearance_and_zero_on_stop() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let unit = Arc::new(Mutex::new(Unit {
        output: 6000,
        writes: Vec::new(),
        silent: false,
    }));
    let sim = Sim(Arc::clone(&unit));
    tokio::spawn(async move {
        let server = Server::new(listener);
        let on_connected = |stream: tokio::net::TcpStream, _peer: std::net::SocketAddr| {
            let sim = sim.clone();
            async move { Ok(Some((sim, stream))) }
        };
        let _ = server.serve(&on_connected, |_e| {}).await;
    });

    let (cmd, cmd_rx) = watch::channel(DeviceCommand::OFF);
    let (status_tx, status) = watch::channel(DeviceStatus::default());
    let lt = Lumentree {
        port: format!("tcp://127.0.0.1:{port}").parse().unwrap(),
        address: 1,
        model: lumentree::Model::Lt600,
    };
    let task = tokio::spawn(run(lt, Clock::start(1), cmd_rx, status_tx));

    // It starts at full power: the first write is 0 W.
    until(&unit, "re-zeroed at start", |u| u.writes == [0]).await;
    cmd.send_replace(DeviceCommand {
        power: Watts(-300),
        current: None,
        voltage: None,
    });
    until(&unit, "300 W", |u| u.writes == [0, 300]).await;
    until(&unit, "reported", |_| {
        status.borrow().delivered == Some(Watts(-300))
    })
    .await;

    // A mains outage: it restarts at full power with the set point forgotten.
    unit.lock().unwrap().output = 6000;
    until(&unit, "told again after the restart", |u| {
        u.writes == [0, 300, 300]
    })
    .await;

    // It stops answering, then comes back: 0 W first, then the set point.
    unit.lock().unwrap().silent = true;
    tokio::time::sleep(Duration::from_secs(3)).await;
    {
        let mut u = unit.lock().unwrap();
        u.silent = false;
        u.output = 6000;
    }
    until(&unit, "re-zeroed on reappearance, then 300 W", |u| {
        u.writes == [0, 300, 300, 0, 300]
    })
    .await;

    // Stop: 0 W.
    drop(cmd);
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unit.lock().unwrap().writes.last(), Some(&0));
}
