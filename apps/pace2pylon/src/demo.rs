//! `pace2pylon --demo`: 12 simulated Pace packs on 12 TCP ports (voltwire-sim's Pace device
//! over its serving layer), a simulated inverter that listens on a TCP port, lets us connect
//! and polls us like a Pylontech master (0x61, 0x63 every second), one status line per
//! second. Pack 3's port drops at 20 s for 15 s: the supervisor disables both directions
//! once it has been silent for 10 s, then recovers after the hold.
//!
//! The simulated packs answer the configuration reads (0xD5–0xDB: 105 A over-current
//! protection for their 100 Ah); the demo configuration also gives `[packs.fallback]`, used
//! until a pack's four reads have come in and for a real pack that refuses them.

use std::io;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use voltwire_asciihex::Decoder;
use voltwire_pylontech::rs485::{Request, RequestBody, Response, ResponseBody};
use voltwire_runtime::poll::{PollConfig, Poller};
use voltwire_sim::device::PaceStack;
use voltwire_sim::modbus::CoulombMeter;
use voltwire_sim::serve::rtu::RtuPort;
use voltwire_sim::serve::{self, Listen, PortDrop, SerialStation};
use voltwire_sim::{PackConfig, Plant};

use crate::config::Config;

/// Packs in the demo.
pub const PACKS: usize = 12;
/// The pack whose port drops.
pub const DROPPED: usize = 3;

fn quiet(_: core::fmt::Arguments<'_>) {}

/// Serve one simulated Pace pack (address 0, 8 cells) on a free TCP port; its address.
///
/// # Errors
/// The listener cannot be bound.
pub async fn serve_pack(soc: f64, drop_plan: PortDrop) -> io::Result<String> {
    let station = SerialStation::new(
        Plant::single(8, soc),
        Box::new(PaceStack::new().with_first_address(0)),
        1.0,
    );
    serve_on_thread("pack", station, drop_plan).await
}

/// Serve a simulated Eco-Worthy coulomb meter (Modbus RTU, address 1) over a bank of
/// `packs` 100 Ah packs at 60 % on a free TCP port; its address.
///
/// # Errors
/// The listener cannot be bound.
pub async fn serve_meter(packs: usize) -> io::Result<String> {
    serve_meter_dropping(packs, PortDrop::Never).await
}

/// [`serve_meter`] with a drop plan.
///
/// # Errors
/// The listener cannot be bound.
pub async fn serve_meter_dropping(packs: usize, drop_plan: PortDrop) -> io::Result<String> {
    let plant = Plant::new(
        (0..packs)
            .map(|_| PackConfig {
                cells: 8,
                initial_soc: 0.6,
                ..PackConfig::default()
            })
            .collect(),
    );
    let meter = CoulombMeter::new(&plant);
    let port = RtuPort::new(plant, Box::new(meter), 1.0);
    serve_on_thread("meter", port, drop_plan).await
}

/// Serve `port` on a free TCP port from a thread of its own (the serving future is not
/// `Send`); the address it listens on. `what` names the device in the thread name and in
/// errors.
async fn serve_on_thread<P: serve::Port + Send + 'static>(
    what: &'static str,
    mut port: P,
    drop_plan: PortDrop,
) -> io::Result<String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(format!("sim-{what}"))
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let announce = |a: &str| {
                    let _ = tx.send(a.to_owned());
                    Ok(())
                };
                let r = serve::serve(
                    &mut port,
                    Listen::Tcp("127.0.0.1:0".into()),
                    drop_plan,
                    quiet,
                    announce,
                    core::future::pending(),
                )
                .await;
                if let Err(e) = r {
                    tracing::error!(error = %e, "simulated {what} stopped");
                }
            });
        })?;
    rx.await
        .map_err(|_| io::Error::other(format!("simulated {what} did not start")))
}

/// The `[meter]` table for a meter at `addr` (append it after [`config_text`]), and the
/// SOC taken from it.
pub fn with_meter(text: &str, addr: &str) -> String {
    let t = text.replace(
        "[supervisor]",
        "[limits]\nsoc_source = \"meter\"\n\n[supervisor]",
    );
    format!("{t}\n[meter]\nlink = \"tcp://{addr}\"\naddress = 1\n")
}

/// Serve `n` simulated Pace packs on one simulated RS485 bus (one TCP port), at addresses
/// `first`, `first + 1`, … and at 50 %, 60 %, … SOC; the port's address.
///
/// # Errors
/// The listener cannot be bound.
pub async fn serve_bus(n: usize, first: u8) -> io::Result<String> {
    let plant = Plant::new(
        (0..n)
            .map(|i| PackConfig {
                cells: 8,
                #[allow(clippy::cast_precision_loss, reason = "a handful of packs")]
                initial_soc: 0.5 + 0.1 * i as f64,
                ..PackConfig::default()
            })
            .collect(),
    );
    let station = SerialStation::new(
        plant,
        Box::new(PaceStack::new().with_first_address(first)),
        1.0,
    );
    serve_on_thread("bus", station, PortDrop::Never).await
}

/// The demo configuration for `packs` and an inverter listening at `inverter`.
pub fn config_text(packs: &[String], inverter: &str, state_file: &str) -> String {
    let links: Vec<String> = packs.iter().map(|a| format!("\"tcp://{a}\"")).collect();
    format!(
        "[inverter]\nlink = \"tcp://{inverter}\"\n\n[packs]\nlinks = [{}]\naddress = 0\n\n\
         [packs.fallback]\nover_voltage_v = 28.8\nunder_voltage_v = 22.4\ncharge_over_current_a = 100\n\
         discharge_over_current_a = 105\n\n[supervisor]\nrecovery_hold_s = 5\n\n[rebalance]\n\
         state_file = {state_file:?}\n",
        links.join(", ")
    )
}

/// What the simulated inverter last read.
#[derive(Debug, Clone, Default)]
pub struct InverterView {
    /// 0x61 voltage, current, SOC.
    pub analog: Option<(f64, f64, u8)>,
    /// 0x63 CVL, CCL, DCL, charge enable, discharge enable.
    pub limits: Option<(f64, f64, f64, bool, bool)>,
}

/// Accept one connection on `listener` and poll it like an inverter every second, storing
/// what it read in `view`; returns when the connection ends.
///
/// # Errors
/// Accepting fails.
pub async fn inverter(
    listener: &TcpListener,
    view: tokio::sync::watch::Sender<InverterView>,
) -> io::Result<()> {
    let (stream, _): (TcpStream, _) = listener.accept().await?;
    let cfg = PollConfig {
        timeout: Duration::from_secs(1),
        retries: 0,
        gap: Duration::from_millis(20),
        echo: false,
    };
    let mut poller = Poller::new(stream, Decoder::new(), cfg);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let mut v = InverterView::default();
        for body in [RequestBody::SystemAnalog, RequestBody::SystemManagement] {
            let req = Request::new(2, body);
            let Ok(frame) = req.to_frame() else { continue };
            let cmd = req.command();
            let got = poller
                .request(&frame.to_bytes(), |f| {
                    f.as_ref()
                        .is_ok_and(|f| Response::from_frame(f, cmd).answers(&req))
                })
                .await;
            match got {
                Ok(Ok(f)) => match Response::from_frame(&f, cmd).body {
                    ResponseBody::SystemAnalog(a) => {
                        v.analog = Some((a.voltage.to_si(), a.current.to_si(), a.soc_percent));
                    }
                    ResponseBody::SystemManagement(m) => {
                        v.limits = Some((
                            m.charge_voltage_limit.to_si(),
                            m.charge_current_limit.to_si(),
                            m.discharge_current_magnitude().to_si(),
                            m.status.contains(
                                voltwire_pylontech::rs485::ManagementStatus::CHARGE_ENABLE,
                            ),
                            m.status.contains(
                                voltwire_pylontech::rs485::ManagementStatus::DISCHARGE_ENABLE,
                            ),
                        ));
                    }
                    _ => {}
                },
                Ok(Err(_)) | Err(voltwire_runtime::poll::PollError::Timeout { .. }) => {}
                Err(_) => return Ok(()),
            }
        }
        view.send_replace(v);
    }
}

/// Run the demo for `duration` seconds (forever without). With `external`, the app answers
/// a real inverter (or a peer such as python-pylontech) on that link instead of the
/// simulated one.
///
/// # Errors
/// A simulated device or the app cannot start, or the app fails.
#[allow(clippy::too_many_lines, reason = "setup, then the status loop")]
pub async fn run(duration: Option<u64>, external: Option<String>) -> io::Result<()> {
    let mut packs = Vec::with_capacity(PACKS);
    for i in 0..PACKS {
        let drop_plan = if i == DROPPED {
            PortDrop::After {
                after: Duration::from_secs(20),
                down: Some(Duration::from_secs(15)),
            }
        } else {
            PortDrop::Never
        };
        #[allow(clippy::cast_precision_loss, reason = "i < 12")]
        let soc = 0.55 + 0.01 * i as f64;
        packs.push(serve_pack(soc, drop_plan).await?);
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let inverter_addr = listener.local_addr()?.to_string();
    let state = std::env::temp_dir().join(format!("pace2pylon-demo-{}.state", std::process::id()));
    let meter = serve_meter(PACKS).await?;
    let mut text = with_meter(
        &config_text(&packs, &inverter_addr, &state.to_string_lossy()),
        &meter,
    );
    if let Some(url) = &external {
        text = text.replace(&format!("tcp://{inverter_addr}"), url);
    }
    let settings = Config::parse(&text, std::path::Path::new("demo.toml"))
        .map_err(|e| io::Error::other(format!("--inverter: {e}")))?;
    let (handles, app) = crate::app::start(settings)?;
    let (view_tx, view_rx) = tokio::sync::watch::channel(InverterView::default());
    if external.is_none() {
        tokio::spawn(async move {
            loop {
                if let Err(e) = Box::pin(inverter(&listener, view_tx.clone())).await {
                    tracing::error!(error = %e, "simulated inverter");
                    return;
                }
            }
        });
    }
    let start = tokio::time::Instant::now();
    let status = async {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let t = start.elapsed().as_secs();
            if duration.is_some_and(|d| t >= d) {
                return;
            }
            let snap = handles.snapshots.borrow().clone();
            let v = view_rx.borrow().clone();
            // Packs read at least once and not silent for the no-comm time.
            let comm = snap
                .packs
                .iter()
                .enumerate()
                .filter(|(i, p)| p.reading.is_some() && snap.decision.no_comm_packs & (1 << i) == 0)
                .count();
            let reasons: Vec<&str> = snap.decision.reasons.flags().collect();
            let analog = v.analog.map_or("analog -".to_owned(), |(u, i, soc)| {
                format!("{u:.2} V {i:+.1} A {soc} %")
            });
            let limits = v
                .limits
                .map_or("limits -".to_owned(), |(cvl, ccl, dcl, c, d)| {
                    format!(
                        "CVL {cvl:.2} V CCL {ccl:.0} A DCL {dcl:.0} A charge {} discharge {}",
                        on(c),
                        on(d)
                    )
                });
            let meter = snap.meter.map_or(String::new(), |m| {
                #[allow(clippy::cast_precision_loss, reason = "capacities are far below 2^53")]
                let cap = m.capacity.0 as f64 / 1000.0;
                format!(" | meter {} % of {cap:.0} Ah", m.soc.0 / 10)
            });
            println!(
                "t={t:>3}s packs {comm}/{PACKS} | inverter reads: {analog} | {limits} | reasons [{}] | rebalance {}{meter}",
                reasons.join(","),
                snap.step.name()
            );
        }
    };
    let r = tokio::select! {
        () = status => Ok(()),
        r = app => r,
    };
    let _ = std::fs::remove_file(&state);
    r
}

fn on(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}
