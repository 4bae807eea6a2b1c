//! `pace2pylon --demo`: the installation of `examples/scenes/pace2pylon.toml` (12 simulated
//! Pace packs of 8 cells, each on its own TCP port, and an Eco-Worthy coulomb meter, all on
//! one plant), run by voltwire-sim's scene engine in this process; a simulated inverter that
//! listens on a TCP port, lets us connect and polls us like a Pylontech master (0x61, 0x63
//! every second); one status line per second. The scene's script drops pack4's port at 20 s
//! for 15 s: the supervisor disables both directions once it has been silent for 10 s, then
//! recovers after the hold.
//!
//! The simulated packs answer the configuration reads (0xD5–0xDB: 105 A over-current
//! protection for their 100 Ah, pack12 configured by hand to 80 A and 28.8 V), so the
//! limits come from the packs themselves: the demo configuration has no `[packs.fallback]`.

use std::fmt::Write as _;
use std::io;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use voltwire_asciihex::Decoder;
use voltwire_pylontech::rs485::{Request, RequestBody, Response, ResponseBody};
use voltwire_runtime::poll::{PollConfig, Poller};
use voltwire_sim::device::PaceStack;
use voltwire_sim::modbus::CoulombMeter;
use voltwire_sim::scene::{Kind, Scene, no_external};
use voltwire_sim::serve::can::NoBus;
use voltwire_sim::serve::rtu::RtuPort;
use voltwire_sim::serve::{self, Listen, PortDrop, SerialStation};
use voltwire_sim::world::Action;
use voltwire_sim::{PackConfig, Plant, SharedWorld};

use crate::config::Config;

/// The demo's installation, embedded: `examples/scenes/pace2pylon.toml`.
pub const DEMO_SCENE: &str = include_str!("../../../examples/scenes/pace2pylon.toml");

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
///
/// # Errors
/// The thread cannot be started or the port does not come up.
pub async fn serve_on_thread<P: serve::Port + Send + 'static>(
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
         [supervisor]\nrecovery_hold_s = 5\n\n[rebalance]\n\
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

/// The demo's scene ([`DEMO_SCENE`]) as the demo serves it: every device but the
/// Pylontech CAN inverter (pace2pylon answers an inverter's RS485 polls; the demo's
/// [`inverter`] does those), which is the scene's last device and named by no event.
///
/// # Errors
/// The embedded file does not hold (the field named), or its CAN inverter is not last or
/// is scripted.
pub fn scene() -> io::Result<Scene> {
    let mut scene = Scene::parse(DEMO_SCENE).map_err(|e| {
        io::Error::other(format!(
            "the demo scene (examples/scenes/pace2pylon.toml): {e}"
        ))
    })?;
    while scene
        .devices
        .last()
        .is_some_and(|d| d.kind == Kind::PylontechInverter)
    {
        scene.devices.pop();
    }
    let n = scene.devices.len();
    let outside = scene.events.iter().any(|e| match e.action {
        Action::Silent { device } | Action::Back { device } | Action::Fault { device, .. } => {
            device >= n
        }
        _ => false,
    });
    if outside
        || scene
            .devices
            .iter()
            .any(|d| d.kind == Kind::PylontechInverter)
    {
        return Err(io::Error::other(
            "the demo scene: its CAN inverter must be the last device and unscripted",
        ));
    }
    Ok(scene)
}

/// The scene's script in words, e.g. `pack4's port drops at 20 s for 15 s`.
pub fn script_summary(scene: &Scene) -> String {
    let name = |i: usize| scene.devices.get(i).map_or("?", |d| d.name.as_str());
    let mut parts: Vec<(Duration, String)> = Vec::new();
    for d in &scene.devices {
        if let Some((at, down)) = d.drop {
            parts.push((
                at,
                match down {
                    Some(f) => format!(
                        "{}'s port drops at {} s for {} s",
                        d.name,
                        at.as_secs(),
                        f.as_secs()
                    ),
                    None => format!("{}'s port drops at {} s", d.name, at.as_secs()),
                },
            ));
        }
    }
    for e in &scene.events {
        let words = match e.action {
            Action::Silent { device } => format!("{} goes silent", name(device)),
            Action::Back { device } => format!("{} is back", name(device)),
            Action::CellDrift { pack, cell, .. } => {
                format!("pack{}'s cell {} drifts", pack + 1, cell + 1)
            }
            _ => continue,
        };
        parts.push((e.at, format!("{words} at {} s", e.at.as_secs())));
    }
    parts.sort_by_key(|(at, _)| *at);
    parts
        .into_iter()
        .map(|(_, p)| p)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The demo configuration for the links a scene announced (`(name, link)` in the scene's
/// order): its Pace devices in order as `[packs]` (each at its address, 0 by default), its
/// coulomb meter as `[meter]` (SOC from it), an inverter listening at `inverter`.
///
/// # Errors
/// A device of the scene was not announced, or the scene has no Pace device.
pub fn scene_config_text(
    scene: &Scene,
    announced: &[(String, String)],
    inverter: &str,
    state_file: &str,
) -> io::Result<String> {
    let link = |name: &str| {
        announced
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| {
                if l.starts_with('/') {
                    format!("serial://{l}")
                } else {
                    format!("tcp://{l}")
                }
            })
            .ok_or_else(|| io::Error::other(format!("the scene did not announce {name}")))
    };
    let mut links = Vec::new();
    let mut addresses = Vec::new();
    for d in scene.devices.iter().filter(|d| d.kind == Kind::Pace) {
        links.push(format!("\"{}\"", link(&d.name)?));
        addresses.push(d.address.unwrap_or(0).to_string());
    }
    if links.is_empty() {
        return Err(io::Error::other("the scene has no Pace pack"));
    }
    let mut text = format!(
        "[inverter]\nlink = \"tcp://{inverter}\"\n\n[packs]\nlinks = [{}]\naddresses = [{}]\n\n\
         [supervisor]\nrecovery_hold_s = 5\n\n[rebalance]\nstate_file = {state_file:?}\n",
        links.join(", "),
        addresses.join(", ")
    );
    if let Some(m) = scene.devices.iter().find(|d| d.kind == Kind::Coulombmeter) {
        text = text.replace(
            "[supervisor]",
            "[limits]\nsoc_source = \"meter\"\n\n[supervisor]",
        );
        let _ = write!(
            text,
            "\n[meter]\nlink = \"{}\"\naddress = {}\n",
            link(&m.name)?,
            m.address.unwrap_or(1)
        );
    }
    Ok(text)
}

/// Serve every device of `scene` on `world` (each on its TCP port or pty) until `stop`,
/// sending each `(name, link)` to `announce` once it listens.
///
/// # Errors
/// A device whose serving failed, named (it ends the scene).
pub async fn serve_scene(
    scene: &Scene,
    world: SharedWorld,
    announce: tokio::sync::mpsc::UnboundedSender<(String, String)>,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    scene
        .serve_in(
            world,
            quiet,
            move |name, link| {
                let _ = announce.send((name.to_owned(), link.to_owned()));
                Ok(())
            },
            no_external(),
            |_| None::<NoBus>,
            stop,
        )
        .await
}

/// Serve `scene` on `world` and wait until every device has announced its link; then the
/// links (in the scene's order) and the serving future, to be polled from then on.
///
/// # Errors
/// A device cannot be served (named).
pub async fn start_scene(
    scene: &Scene,
    world: SharedWorld,
) -> io::Result<(
    Vec<(String, String)>,
    core::pin::Pin<Box<dyn Future<Output = io::Result<()>> + '_>>,
)> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut serving: core::pin::Pin<Box<dyn Future<Output = io::Result<()>> + '_>> =
        Box::pin(serve_scene(scene, world, tx, core::future::pending()));
    let mut links = Vec::new();
    while links.len() < scene.devices.len() {
        tokio::select! {
            r = &mut serving => {
                return Err(r.err().unwrap_or_else(|| io::Error::other("the simulated installation stopped")));
            }
            l = rx.recv() => match l {
                Some(l) => links.push(l),
                None => return Err(io::Error::other("the simulated installation stopped")),
            },
        }
    }
    Ok((links, serving))
}

/// The demo's web port unless `--web-port` gives another.
pub const WEB_PORT: u16 = 8080;

/// Run the demo for `duration` seconds (forever without). With `external`, the app answers
/// a real inverter (or a peer such as python-pylontech) on that link instead of the
/// simulated one. The status page listens on 127.0.0.1:`web_port` (default [`WEB_PORT`];
/// 0: any free port) with a fresh random token for its commands, both printed.
///
/// # Errors
/// A simulated device or the app cannot start (the web port taken), or the app fails.
#[allow(clippy::too_many_lines, reason = "setup, then the status loop")]
pub async fn run(
    duration: Option<u64>,
    external: Option<String>,
    web_port: Option<u16>,
) -> io::Result<()> {
    let scene = scene()?;
    let packs = scene
        .devices
        .iter()
        .filter(|d| d.kind == Kind::Pace)
        .count();
    println!(
        "pace2pylon demo: {packs} simulated Pace packs on their own TCP ports + a coulomb meter \
         (examples/scenes/pace2pylon.toml) -> pace2pylon -> a simulated inverter polling 0x61/0x63; \
         {}. Ctrl-C ends it.",
        script_summary(&scene)
    );
    let world = scene.world(1.0);
    let (links, mut devices) = start_scene(&scene, world).await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let inverter_addr = listener.local_addr()?.to_string();
    let state = std::env::temp_dir().join(format!("pace2pylon-demo-{}.state", std::process::id()));
    let mut text = scene_config_text(&scene, &links, &inverter_addr, &state.to_string_lossy())?;
    if let Some(url) = &external {
        text = text.replace(&format!("tcp://{inverter_addr}"), url);
    }
    let token = voltwire_runtime::web::Token::generate()?;
    let _ = write!(
        text,
        "\n[web]\nport = {}\ntoken = \"{}\"\n",
        web_port.unwrap_or(WEB_PORT),
        token.as_str()
    );
    let settings = Config::parse(&text, std::path::Path::new("demo.toml"))
        .map_err(|e| io::Error::other(format!("the demo configuration (--inverter?): {e}")))?;
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
    let mut web = handles.web_addr.clone();
    let status = async {
        // The app binds its web port first: announce it (the app's error ends the demo).
        let Ok(addr) = web.wait_for(Option::is_some).await.map(|a| *a) else {
            return core::future::pending().await;
        };
        if let Some(addr) = addr {
            println!(
                "demo: status page at http://{addr}/ (its disable/rebalance buttons need the token {})",
                token.as_str()
            );
        }
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let t = start.elapsed().as_secs();
            if duration.is_some_and(|d| t >= d) {
                return;
            }
            let line = status_line(t, packs, &handles.snapshots.borrow(), &view_rx.borrow());
            println!("{line}");
        }
    };
    let r = tokio::select! {
        () = status => Ok(()),
        r = app => r,
        r = &mut devices => Err(match r {
            Ok(()) => io::Error::other("the simulated installation stopped"),
            Err(e) => io::Error::other(format!("the simulated installation failed: {e}")),
        }),
    };
    let _ = std::fs::remove_file(&state);
    r
}

/// One status line at `t` s: packs in comm (of `packs`), what the inverter read, the
/// supervisor's reasons, the rebalance step and the meter.
pub fn status_line(
    t: u64,
    packs: usize,
    snap: &crate::engine::Snapshot,
    v: &InverterView,
) -> String {
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
    format!(
        "t={t:>3}s packs {comm}/{packs} | inverter reads: {analog} | {limits} | reasons [{}] | rebalance {}{meter}",
        reasons.join(","),
        snap.step.name()
    )
}

fn on(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}
