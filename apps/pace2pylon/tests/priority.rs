//! Inverter priority switching by Modbus writes, against simulated inverters that record
//! every write: Modbus RTU (voltwire-sim's RTU serving over TCP, as a console server carries
//! it) and Modbus TCP (a minimal MBAP server here). A register is written only on a change
//! (a restart finding the right values writes nothing), a refused write is retried until
//! it lands, and the whole path runs through the real app: a rebalance granted grid
//! charging switches the inverter and its end switches it back. Timeouts are failure
//! guards only; every assertion is about order and content.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    missing_docs,
    reason = "test code"
)]

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pace2pylon::app;
use pace2pylon::config::Config;
use pace2pylon::demo;
use pace2pylon::engine::{Clock, Command, Snapshot};
use pace2pylon::priority::{self, Priority, PriorityLink, Register, Transport};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::watch;
use voltwire_modbus::rtu::ExceptionCode;
use voltwire_runtime::link::LinkUrl;
use voltwire_sim::modbus::{ModbusReply, ModbusRequest, ModbusResponder};
use voltwire_sim::serve::PortDrop;
use voltwire_sim::serve::rtu::RtuPort;
use voltwire_sim::{Faults, Plant, PlantCommand};

const GUARD: Duration = Duration::from_secs(60);

/// What the simulated inverter holds and what was written to it.
#[derive(Debug, Default)]
struct Inverter {
    regs: Mutex<Vec<u16>>,
    writes: Mutex<Vec<(u16, u16)>>,
    /// Writes still to refuse (exception 0x04).
    refuse: AtomicUsize,
    refused: AtomicUsize,
}

impl Inverter {
    fn new(initial: &[(u16, u16)]) -> Arc<Self> {
        let inv = Self {
            regs: Mutex::new(vec![0; 512]),
            ..Self::default()
        };
        for (r, v) in initial {
            inv.regs.lock().unwrap()[usize::from(*r)] = *v;
        }
        Arc::new(inv)
    }

    fn read(&self, start: u16, count: u16) -> Option<Vec<u16>> {
        let regs = self.regs.lock().unwrap();
        let s = usize::from(start);
        regs.get(s..s + usize::from(count)).map(<[u16]>::to_vec)
    }

    /// `false`: refused.
    fn write(&self, reg: u16, value: u16) -> bool {
        if self
            .refuse
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return false;
        }
        if let Some(r) = self.regs.lock().unwrap().get_mut(usize::from(reg)) {
            *r = value;
        }
        self.writes.lock().unwrap().push((reg, value));
        true
    }

    fn writes(&self) -> Vec<(u16, u16)> {
        self.writes.lock().unwrap().clone()
    }
}

/// The simulated inverter as a voltwire-sim Modbus RTU slave at address 1.
struct Rtu(Arc<Inverter>, Faults);

impl ModbusResponder for Rtu {
    fn address(&self) -> u8 {
        1
    }

    fn handle(
        &mut self,
        address: u8,
        request: ModbusRequest<'_>,
        _now: Duration,
        _plant: &Plant,
    ) -> Option<ModbusReply> {
        if address != 1 {
            return None;
        }
        Some(match request {
            ModbusRequest::ReadHolding { start, count } => match self.0.read(start, count) {
                Some(r) => ModbusReply::Registers(r),
                None => ModbusReply::Exception(ExceptionCode::IllegalDataAddress),
            },
            ModbusRequest::Write { start, values: [v] } => {
                if self.0.write(start, *v) {
                    ModbusReply::Written
                } else {
                    ModbusReply::Exception(ExceptionCode::ServerDeviceFailure)
                }
            }
            _ => ModbusReply::Exception(ExceptionCode::IllegalFunction),
        })
    }

    fn faults(&self) -> &Faults {
        &self.1
    }

    fn faults_mut(&mut self) -> &mut Faults {
        &mut self.1
    }

    fn drain_commands(&mut self, _out: &mut Vec<PlantCommand>) {}
}

async fn serve_rtu(inv: &Arc<Inverter>) -> String {
    let port = RtuPort::new(
        Plant::single(8, 0.5),
        Box::new(Rtu(Arc::clone(inv), Faults::default())),
        1.0,
    );
    demo::serve_on_thread("inverter", port, PortDrop::Never)
        .await
        .unwrap()
}

/// A minimal Modbus TCP server (functions 0x03 and 0x06) on `inv`; its address.
async fn serve_tcp(inv: &Arc<Inverter>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let inv = Arc::clone(inv);
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let inv = Arc::clone(&inv);
            tokio::spawn(async move {
                loop {
                    let mut head = [0u8; 7];
                    if s.read_exact(&mut head).await.is_err() {
                        return;
                    }
                    let len = usize::from(u16::from_be_bytes([head[4], head[5]]));
                    let mut pdu = vec![0u8; len - 1];
                    s.read_exact(&mut pdu).await.unwrap();
                    let a = u16::from_be_bytes([pdu[1], pdu[2]]);
                    let b = u16::from_be_bytes([pdu[3], pdu[4]]);
                    let reply: Vec<u8> = match pdu[0] {
                        0x03 => match inv.read(a, b) {
                            Some(r) => {
                                let mut out = vec![0x03, u8::try_from(r.len() * 2).unwrap()];
                                for v in r {
                                    out.extend_from_slice(&v.to_be_bytes());
                                }
                                out
                            }
                            None => vec![0x83, 0x02],
                        },
                        0x06 if inv.write(a, b) => pdu.clone(),
                        0x06 => vec![0x86, 0x04],
                        f => vec![f | 0x80, 0x01],
                    };
                    let mut frame = head[..4].to_vec();
                    frame.extend_from_slice(&u16::try_from(reply.len() + 1).unwrap().to_be_bytes());
                    frame.push(head[6]);
                    frame.extend_from_slice(&reply);
                    if s.write_all(&frame).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

const REGISTERS: [Register; 2] = [
    Register {
        register: 301,
        normal: 3,
        grid_charge: 2,
    },
    Register {
        register: 302,
        normal: 0,
        grid_charge: 1,
    },
];

fn link(addr: &str, transport: Transport) -> PriorityLink {
    let (host, port) = addr.rsplit_once(':').unwrap();
    PriorityLink {
        url: LinkUrl::Tcp {
            host: host.to_owned(),
            port: port.parse().unwrap(),
        },
        transport,
        address: 1,
        registers: REGISTERS.to_vec(),
        timeout: Duration::from_secs(1),
        retry_ms: 200,
        retry_max_ms: 1_000,
    }
}

async fn until_known(
    known: &mut watch::Receiver<Option<Priority>>,
    want: Option<Priority>,
    seen: &mut Vec<Option<Priority>>,
) {
    tokio::time::timeout(GUARD, async {
        loop {
            let k = *known.borrow_and_update();
            if seen.last() != Some(&k) {
                seen.push(k);
            }
            if k == want {
                return;
            }
            known.changed().await.unwrap();
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never known {want:?}; seen {seen:?}"));
}

fn grid(snaps: &watch::Sender<Snapshot>, on: bool) {
    snaps.send_modify(|s| s.grid_charge = on);
}

/// Drive `priority::run` through normal → grid charge → (no-op changes) → normal → a
/// refused grid-charge write retried; return the writes.
async fn switch_through(inv: &Arc<Inverter>, p: PriorityLink) -> Vec<Option<Priority>> {
    let (snaps, rx) = watch::channel(Snapshot::initial());
    let (known_tx, mut known) = watch::channel(None);
    tokio::spawn(priority::run(p, rx, Clock::start(), known_tx));
    let mut seen = Vec::new();
    until_known(&mut known, Some(Priority::Normal), &mut seen).await;
    grid(&snaps, true);
    until_known(&mut known, Some(Priority::GridCharge), &mut seen).await;
    // Changes that ask for what the inverter holds write nothing.
    for _ in 0..5 {
        grid(&snaps, true);
        tokio::task::yield_now().await;
    }
    grid(&snaps, false);
    until_known(&mut known, Some(Priority::Normal), &mut seen).await;
    // The inverter refuses the next write once: unknown, then retried and written.
    inv.refuse.store(1, Ordering::SeqCst);
    grid(&snaps, true);
    until_known(&mut known, Some(Priority::GridCharge), &mut seen).await;
    assert_eq!(inv.refused.load(Ordering::SeqCst), 1);
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtu_writes_only_on_change_and_retries_a_refused_write() {
    // The inverter already holds the normal values: nothing is written at start.
    let inv = Inverter::new(&[(301, 3), (302, 0)]);
    let addr = serve_rtu(&inv).await;
    let seen = switch_through(&inv, link(&addr, Transport::Rtu)).await;
    assert_eq!(
        inv.writes(),
        [(301, 2), (302, 1), (301, 3), (302, 0), (301, 2), (302, 1)]
    );
    // In order (the unknown after the refused write may pass unseen: a watch keeps the
    // latest value only; the refusal itself is counted above).
    let known: Vec<Priority> = seen.into_iter().flatten().collect();
    assert_eq!(
        known,
        [
            Priority::Normal,
            Priority::GridCharge,
            Priority::Normal,
            Priority::GridCharge
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modbus_tcp_writes_the_normal_values_when_the_inverter_holds_neither() {
    let inv = Inverter::new(&[(301, 7), (302, 0)]);
    let addr = serve_tcp(&inv).await;
    switch_through(&inv, link(&addr, Transport::Tcp)).await;
    assert_eq!(
        inv.writes(),
        [
            (301, 3),
            (302, 0),
            (301, 2),
            (302, 1),
            (301, 3),
            (302, 0),
            (301, 2),
            (302, 1)
        ]
    );
}

/// The whole app: a rebalance (no tariff windows: grid charging granted in step 2) switches
/// the inverter to its grid-charge values; cancelling it switches back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebalance_switches_the_inverter_and_its_cancel_switches_back() {
    let inv = Inverter::new(&[(301, 3), (302, 0)]);
    let addr = serve_rtu(&inv).await;
    let packs = vec![demo::serve_pack(0.6, PortDrop::Never).await.unwrap()];
    let state = voltwire_testkit::scratch_dir("pace2pylon-priority").join("r.state");
    let text = demo::config_text(&packs, "127.0.0.1:9", &state.to_string_lossy())
        .replace("[supervisor]", "poll_interval_s = 0.2\n\n[supervisor]")
        .replace("recovery_hold_s = 5", "recovery_hold_s = 0.5")
        + &format!(
            "\n[priority]\nlink = \"tcp://{addr}\"\nretry_s = 0.2\n\
             [[priority.register]]\nregister = 301\nnormal = 3\ngrid_charge = 2\n\
             [[priority.register]]\nregister = 302\nnormal = 0\ngrid_charge = 1\n"
        );
    let mut settings = Config::parse(&text, Path::new("p.toml")).unwrap();
    settings.tick = Duration::from_millis(100);
    let (h, run) = app::start(settings).unwrap();
    tokio::spawn(async move {
        let r = run.await;
        panic!("app ended: {r:?}");
    });
    let mut known = h.priority.clone();
    let mut seen = Vec::new();
    until_known(&mut known, Some(Priority::Normal), &mut seen).await;
    h.commands.send(Command::RebalanceStart).await.unwrap();
    until_known(&mut known, Some(Priority::GridCharge), &mut seen).await;
    h.commands.send(Command::RebalanceCancel).await.unwrap();
    until_known(&mut known, Some(Priority::Normal), &mut seen).await;
    assert_eq!(inv.writes(), [(301, 2), (302, 1), (301, 3), (302, 0)]);
}
