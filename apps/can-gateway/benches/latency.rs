//! Gateway benchmark (issue requirement): added latency from the last frame of an input
//! telegram to the first frame of the next output burst, p50 / p99 / max, with 16 Pylontech
//! BMS inputs × 4 push outputs at real frame rates; CPU % of one core and peak RSS.
//! Goals: p99 ≤ 1 ms, RSS ≤ 8 MB, CPU ≤ 1 %.
//!
//! Run: `cargo bench -p can-gateway --bench latency -- [--seconds N] [--min-delay-ms MS]
//! [--mode virtual|process|both] [--web-port PORT]` (defaults: 60 s, 0 ms, both, no web).
//! `--web-port` turns the status page on (127.0.0.1:PORT, rate limit 10000/s, token
//! `bench-token-0123456789`) so that a load on it (`interop/web/load.py`) can run beside.
//!
//! Load: 16 BMSes, each on its own bus, send the Pylontech burst 0x359, 0x351, 0x355, 0x356,
//! 0x35C, 0x35E once per second (encoded with `voltwire_ess::frames`; SOC and current change
//! every second), at phases spread evenly over the second (62.5 ms apart), frames of a burst
//! back to back. 0x35C is the frame that completes a telegram (0x35E, the name, is not part
//! of it), so the input timestamp is taken just before 0x35C is sent. Outputs run in `push`
//! mode with `min_delay_ms = 0` by default, so every telegram is answered at once on every
//! output; the output timestamp is when the harness receives the next 0x359 (the first frame
//! of every burst) on that output bus. With the default `min_delay_ms = 100` a telegram
//! arriving within 100 ms of the previous burst waits for the next tick or telegram, so the
//! latency measures the rate limit, not the gateway (`--min-delay-ms 100` shows it).
//! Samples from the first 2 s (warm-up: buses attaching) are not counted; a telegram with no
//! burst within 1 s on an output counts as missed.
//!
//! Two modes, because one process cannot measure its own RSS honestly:
//! - `virtual`: the library gateway (`app::run`) on `virtual://` buses, in its own
//!   current-thread runtime on its own thread, exactly as the binary runs it. Latency is the
//!   gateway's own plus one cross-thread wake-up each way. CPU is that thread's run time from
//!   `/proc/self/task/<tid>/schedstat` (ns). The RSS printed is the whole bench process (an
//!   upper bound: it includes the harness and the 20 virtual buses, whose broadcast rings of
//!   4096 slots are allocated up front).
//! - `process`: the `can-gateway` binary as a child process, every bus `slcan+tcp://` to a
//!   listener of this harness (`handshake=none`), so it runs its real SLCAN encoder/decoder
//!   and socket I/O. CPU is utime + stime of the whole process from `/proc/<pid>/stat`
//!   (all threads), RSS is `VmHWM` from `/proc/<pid>/status`. Latency adds SLCAN text and
//!   two loopback TCP hops. The child's log is discarded (it warns when the harness closes
//!   its sockets at the end).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::too_many_lines,
    clippy::many_single_char_names,
    reason = "bench code"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use can_gateway::app::{self, Hooks};
use can_gateway::bus::VirtualBuses;
use can_gateway::config::Config;
use tokio::net::TcpListener;
use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille};
use voltwire_ess::{BatteryState, EncodeOptions, Flags, Requests, frames};
use voltwire_runtime::can::{CanBus, CanFrame, SlcanBus};

const INPUTS: usize = 16;
const OUTPUTS: usize = 4;
const PERIOD: Duration = Duration::from_secs(1);
const WARMUP: Duration = Duration::from_secs(2);
const MATCH_WINDOW: Duration = Duration::from_secs(1);
/// The frame that completes a Pylontech telegram.
const LAST_OF_TELEGRAM: u32 = 0x35C;
/// The first frame of every output burst.
const FIRST_OF_BURST: u32 = 0x359;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Virtual,
    Process,
}

#[derive(Debug)]
struct Args {
    seconds: u64,
    min_delay_ms: u64,
    modes: Vec<Mode>,
    web_port: Option<u16>,
}

fn usage(msg: &str) -> ! {
    eprintln!(
        "latency: {msg}\nusage: latency [--seconds N] [--min-delay-ms MS] [--mode virtual|process|both] [--web-port PORT]"
    );
    std::process::exit(2);
}

fn args() -> Args {
    let mut a = Args {
        seconds: 60,
        min_delay_ms: 0,
        modes: vec![Mode::Virtual, Mode::Process],
        web_port: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            // `cargo bench` passes `--bench`.
            "--bench" => {}
            "--seconds" => {
                a.seconds = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|s| *s > WARMUP.as_secs())
                    .unwrap_or_else(|| usage("--seconds needs a whole number above 2"));
            }
            "--min-delay-ms" => {
                a.min_delay_ms = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|d| *d <= 1000)
                    .unwrap_or_else(|| usage("--min-delay-ms needs 0 to 1000"));
            }
            "--mode" => {
                a.modes = match it.next().as_deref() {
                    Some("virtual") => vec![Mode::Virtual],
                    Some("process") => vec![Mode::Process],
                    Some("both") => vec![Mode::Virtual, Mode::Process],
                    _ => usage("--mode needs virtual, process or both"),
                };
            }
            "--web-port" => {
                a.web_port = Some(
                    it.next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| usage("--web-port needs a port number")),
                );
            }
            other => usage(&format!("unknown argument `{other}`")),
        }
    }
    a
}

/// The configuration: `bus(kind, index)` gives each bus URL.
fn config(bus: &dyn Fn(&str, usize) -> String, min_delay_ms: u64, web: Option<u16>) -> String {
    let mut s = String::from(
        "[gateway]\nmax_charge_current_a = 2000\nmax_discharge_current_a = 2000\ntick_ms = 100\n",
    );
    for i in 0..INPUTS {
        let _ = write!(
            s,
            "\n[[input]]\nname = \"bms{i}\"\nbus = \"{}\"\ncapacity_ah = 100\ntimeout_s = 5\n",
            bus("bms", i)
        );
    }
    for o in 0..OUTPUTS {
        let _ = write!(
            s,
            "\n[[output]]\nname = \"inv{o}\"\nbus = \"{}\"\nmode = \"push\"\ninterval_ms = 1000\nmin_delay_ms = {min_delay_ms}\ncurrent_scale = 0.25\n",
            bus("inv", o)
        );
    }
    if let Some(port) = web {
        let _ = write!(
            s,
            "\n[web]\nport = {port}\ntoken = \"bench-token-0123456789\"\nrate_limit_per_s = 10000\n"
        );
    }
    s
}

/// BMS `i`'s burst number `k`.
fn burst(i: usize, k: u64) -> Vec<CanFrame> {
    let wobble = i32::try_from((k + i as u64) % 20).unwrap_or(0);
    let s = BatteryState {
        charge_voltage_limit: Millivolts(56_800),
        charge_current_limit: Milliamps(50_000),
        discharge_current_limit: Milliamps(100_000),
        soc: Permille(600 + 10 * i16::try_from(k % 30).unwrap_or(0)),
        soh: Permille(990),
        voltage: Millivolts(52_300 + 10 * wobble),
        current: Milliamps(-12_000 + 100 * wobble),
        temperature: DeciCelsius(245),
        errors: Flags::NONE,
        warnings: Flags::NONE,
        charge_enable: true,
        discharge_enable: true,
        requests: Requests::NONE,
        module_count: 1,
    };
    frames(&s, &EncodeOptions::default())
        .iter()
        .filter_map(|m| {
            let (d, n) = m.emit().ok()?;
            CanFrame::standard(m.id(), d.get(..n)?)
        })
        .collect()
}

/// BMS `i`: a burst every second at its phase until `end`; returns when each telegram's
/// last frame was sent.
async fn bms<B: CanBus>(mut bus: B, i: usize, start: Instant, end: Instant) -> Vec<Instant> {
    let phase = PERIOD * u32::try_from(i).unwrap() / u32::try_from(INPUTS).unwrap();
    let mut tick = tokio::time::interval_at((start + phase).into(), PERIOD);
    let mut sent = Vec::new();
    for k in 0.. {
        tick.tick().await;
        if Instant::now() >= end {
            break;
        }
        for f in burst(i, k) {
            if f.id() == LAST_OF_TELEGRAM {
                sent.push(Instant::now());
            }
            bus.send(&f).await.expect("BMS bus send");
        }
    }
    sent
}

/// Inverter: when each burst's first frame arrived, until `end`.
async fn inverter<B: CanBus>(mut bus: B, end: Instant) -> Vec<Instant> {
    let mut got = Vec::new();
    let deadline = tokio::time::sleep_until(end.into());
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            f = bus.recv() => {
                let f = f.expect("inverter bus recv");
                if f.id() == FIRST_OF_BURST {
                    got.push(Instant::now());
                }
            }
            () = &mut deadline => return got,
        }
    }
}

#[derive(Debug, Default)]
struct Resources {
    cpu: Duration,
    wall: Duration,
    peak_rss_kb: Option<u64>,
    rss_kb: Option<u64>,
}

fn status_kb(pid: &str, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime of `/proc/.../stat`.
fn stat_cpu(path: &Path, clk_tck: u64) -> Duration {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    // After the command: state is field 3; utime and stime are fields 14 and 15.
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    let ticks: u64 = f.iter().sum();
    Duration::from_nanos(ticks * 1_000_000_000 / clk_tck.max(1))
}

/// Run time of one thread, ns, from `schedstat`.
fn schedstat_cpu(task: &Path) -> Duration {
    let s = std::fs::read_to_string(task.join("schedstat")).unwrap_or_default();
    Duration::from_nanos(
        s.split_whitespace()
            .next()
            .and_then(|x| x.parse().ok())
            .unwrap_or(0),
    )
}

fn clk_tck() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

#[derive(Debug, Default)]
struct Latency {
    micros: Vec<f64>,
    missed: usize,
    telegrams: usize,
}

fn latencies(sent: &[Vec<Instant>], got: &[Vec<Instant>], from: Instant) -> Latency {
    let mut l = Latency::default();
    for t in sent.iter().flatten().filter(|t| **t >= from) {
        l.telegrams += 1;
        for g in got {
            let k = g.partition_point(|r| r < t);
            match g.get(k) {
                Some(r) if r.duration_since(*t) < MATCH_WINDOW => {
                    l.micros.push(r.duration_since(*t).as_secs_f64() * 1e6);
                }
                _ => l.missed += 1,
            }
        }
    }
    l.micros.sort_by(f64::total_cmp);
    l
}

fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Run the load against buses made by `input(i)` / `output(o)`; `measure` is called at the
/// start and the end of the measured window.
async fn drive<I, O>(
    inputs: Vec<I>,
    outputs: Vec<O>,
    seconds: u64,
    mut measure: impl FnMut() -> (Duration, Option<u64>, Option<u64>),
) -> (Latency, Resources)
where
    I: CanBus + Send + 'static,
    O: CanBus + Send + 'static,
{
    let start = Instant::now() + Duration::from_millis(100);
    let end = start + Duration::from_secs(seconds);
    let from = start + WARMUP;
    let mut senders = Vec::new();
    for (i, b) in inputs.into_iter().enumerate() {
        senders.push(tokio::spawn(bms(b, i, start, end)));
    }
    let mut receivers = Vec::new();
    for b in outputs {
        receivers.push(tokio::spawn(inverter(b, end + Duration::from_millis(200))));
    }
    tokio::time::sleep_until(from.into()).await;
    let (cpu0, _, _) = measure();
    let w0 = Instant::now();
    tokio::time::sleep_until(end.into()).await;
    let (cpu1, peak, rss) = measure();
    let res = Resources {
        cpu: cpu1.saturating_sub(cpu0),
        wall: w0.elapsed(),
        peak_rss_kb: peak,
        rss_kb: rss,
    };
    let mut sent = Vec::new();
    for s in senders {
        sent.push(s.await.expect("BMS task"));
    }
    let mut got = Vec::new();
    for r in receivers {
        got.push(r.await.expect("inverter task"));
    }
    (latencies(&sent, &got, from), res)
}

fn run_virtual(rt: &tokio::runtime::Runtime, a: &Args) -> (Latency, Resources) {
    let virtuals = VirtualBuses::default();
    let text = config(
        &|k, i| format!("virtual://{k}{i}"),
        a.min_delay_ms,
        a.web_port,
    );
    let settings = Config::parse(&text, Path::new("bench.toml")).expect("bench config");
    // Attach the harness first, so the gateway's nodes join existing buses.
    let inputs: Vec<_> = (0..INPUTS)
        .map(|i| virtuals.get(&format!("bms{i}")).node())
        .collect();
    let outputs: Vec<_> = (0..OUTPUTS)
        .map(|o| virtuals.get(&format!("inv{o}")).node())
        .collect();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel::<PathBuf>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let hooks = Hooks {
        virtuals,
        snapshot: None,
        web_bound: None,
    };
    let gw = std::thread::spawn(move || {
        let task = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
        tid_tx.send(Path::new("/proc").join(task)).expect("tid");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("gateway runtime");
        rt.block_on(app::run(settings, hooks, async {
            let _ = stop_rx.await;
        }))
    });
    let task = tid_rx.recv().expect("gateway thread");
    let out = rt.block_on(drive(inputs, outputs, a.seconds, || {
        (
            schedstat_cpu(&task),
            status_kb("self", "VmHWM:"),
            status_kb("self", "VmRSS:"),
        )
    }));
    let _ = stop_tx.send(());
    gw.join().expect("gateway thread").expect("gateway run");
    out
}

fn run_process(rt: &tokio::runtime::Runtime, a: &Args) -> (Latency, Resources) {
    let dir = std::env::temp_dir().join(format!("can-gateway-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    rt.block_on(async {
        let mut listeners = Vec::new();
        for _ in 0..INPUTS + OUTPUTS {
            listeners.push(TcpListener::bind("127.0.0.1:0").await.expect("bind"));
        }
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().expect("addr").port())
            .collect();
        let text = config(
            &|k, i| {
                let p = if k == "bms" {
                    ports[i]
                } else {
                    ports[INPUTS + i]
                };
                format!("slcan+tcp://127.0.0.1:{p}?handshake=none")
            },
            a.min_delay_ms,
            a.web_port,
        );
        let path = dir.join("bench.toml");
        std::fs::write(&path, text).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_can-gateway"))
            .arg("--config")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start can-gateway");
        let pid = child.id().to_string();
        let mut links = Vec::new();
        for l in &listeners {
            let (s, _) = tokio::time::timeout(Duration::from_secs(10), l.accept())
                .await
                .expect("can-gateway did not connect within 10 s")
                .expect("accept");
            s.set_nodelay(true).expect("nodelay");
            links.push(SlcanBus::attach(s));
        }
        let outputs = links.split_off(INPUTS);
        let tck = clk_tck();
        let stat = PathBuf::from(format!("/proc/{pid}/stat"));
        let out = drive(links, outputs, a.seconds, || {
            (
                stat_cpu(&stat, tck),
                status_kb(&pid, "VmHWM:"),
                status_kb(&pid, "VmRSS:"),
            )
        })
        .await;
        let _ = Command::new("kill").arg("-TERM").arg(&pid).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
        out
    })
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("harness runtime");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "can-gateway: {INPUTS} Pylontech inputs x {OUTPUTS} push outputs, min_delay_ms = {}, {} s per mode ({} s measured), load avg {}",
        a.min_delay_ms,
        a.seconds,
        a.seconds - WARMUP.as_secs(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut rows = Vec::new();
    for m in &a.modes {
        let (lat, res) = match m {
            Mode::Virtual => run_virtual(&rt, &a),
            Mode::Process => run_process(&rt, &a),
        };
        rows.push((*m, lat, res));
    }
    println!(
        "\n{:<36} {:>9} {:>9} {:>6} {:>8} {:>8} {:>8} {:>7} {:>10} {:>8}",
        "mode",
        "telegrams",
        "samples",
        "missed",
        "p50 µs",
        "p99 µs",
        "max µs",
        "CPU %",
        "peak RSS",
        "RSS"
    );
    let mb =
        |kb: Option<u64>| kb.map_or("-".to_owned(), |k| format!("{:.1} MB", k as f64 / 1024.0));
    for (m, lat, res) in &rows {
        let name = match m {
            Mode::Virtual => "virtual:// (in-process, gw thread)",
            Mode::Process => "slcan+tcp:// (can-gateway process)",
        };
        println!(
            "{:<36} {:>9} {:>9} {:>6} {:>8.0} {:>8.0} {:>8.0} {:>7.3} {:>10} {:>8}",
            name,
            lat.telegrams,
            lat.micros.len(),
            lat.missed,
            percentile(&lat.micros, 0.50),
            percentile(&lat.micros, 0.99),
            lat.micros.last().copied().unwrap_or(f64::NAN),
            100.0 * res.cpu.as_secs_f64() / res.wall.as_secs_f64().max(1e-9),
            mb(res.peak_rss_kb),
            mb(res.rss_kb),
        );
    }
    println!(
        "\ngoals: p99 <= 1000 µs, CPU <= 1 % of one core, peak RSS <= 8 MB \
         (virtual row: RSS is the whole bench process, an upper bound)"
    );
}
