//! The 12-port line-timing benchmark: `bench/line-timing.toml` (12 Pace packs, each on its
//! own TCP port, bytes paced at 9600 Bd) served in this process by voltwire-sim's scene
//! engine; the `pace2pylon` binary given as the first argument (build it with `--release`)
//! runs as a child process polling them, with its status page on a free port; this process
//! is the inverter (it accepts the app's connection and polls 0x61 and 0x63 every second).
//!
//! Measured after a 15 s warm-up in two phases of `SECONDS` each (second argument, default
//! 60); in the first this process also reads `/api/state` twice a second, in the second only
//! the inverter polls (as in service), so the CPU and RSS figures carry no benchmark reads:
//! - the full poll cycle: per round, from the first pack's 0x42 request to the last pack's
//!   0x44 reply (from each pack's `poll_started_s` / `poll_s` in `/api/state`), against the
//!   sequential baseline of the reference (12 × the mean per-pack 0x42 + 0x44 exchange);
//! - the inverter answer latency (request written → reply parsed, over TCP);
//! - the child's CPU (utime + stime from `/proc/PID/stat`) and RSS (`VmHWM`, `VmRSS`).
//!
//! ```sh
//! cargo build --release -p pace2pylon --example line_timing
//! target/release/examples/line_timing target/release/pace2pylon 60
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::too_many_lines,
    clippy::print_stdout,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::unnecessary_debug_formatting,
    missing_docs,
    reason = "a benchmark harness (the state file path quoted as a TOML string)"
)]

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use voltwire_asciihex::Decoder;
use voltwire_pylontech::rs485::{Request, RequestBody, Response};
use voltwire_runtime::poll::{PollConfig, Poller};
use voltwire_sim::scene::Scene;

const SCENE: &str = include_str!("../bench/line-timing.toml");
const WARM_UP: Duration = Duration::from_secs(15);

async fn get_state(port: u16) -> Option<Value> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    s.write_all(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.ok()?;
    let text = String::from_utf8_lossy(&out);
    let body = text.split_once("\r\n\r\n")?.1;
    let v: Value = serde_json::from_str(body).ok()?;
    Some(v.get("state").cloned().unwrap_or(v))
}

fn proc_cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the command name.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn proc_kb(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let bin = args
        .next()
        .expect("usage: line_timing PATH/TO/pace2pylon [SECONDS]");
    let seconds: u64 = args.next().map_or(60, |s| s.parse().unwrap());
    let scene = Scene::parse(SCENE).unwrap();
    let n = scene.devices.len();

    // The packs, on a thread of their own (the scene's serving is not Send).
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, String)>();
    let served = scene.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let r = rt.block_on(served.serve(
            1.0,
            |_| {},
            move |name, link| {
                let _ = tx.send((name.to_owned(), link.to_owned()));
                Ok(())
            },
            voltwire_sim::scene::no_external(),
            std::future::pending(),
        ));
        panic!("the scene ended: {r:?}");
    });
    let mut links = Vec::new();
    while links.len() < n {
        links.push(rx.recv().await.unwrap());
    }
    let inverter = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let web_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = std::env::temp_dir().join(format!("p2p-line-timing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let packs: Vec<String> = links
        .iter()
        .map(|(_, l)| format!("\"tcp://{l}\""))
        .collect();
    let config = format!(
        "[inverter]\nlink = \"tcp://{}\"\n\n[packs]\nlinks = [{}]\naddress = 0\n\n\
         [rebalance]\nstate_file = {:?}\n\n[web]\nport = {web_port}\n",
        inverter.local_addr().unwrap(),
        packs.join(", "),
        dir.join("r.state")
    );
    let path = dir.join("bench.toml");
    std::fs::write(&path, config).unwrap();
    let mut child = std::process::Command::new(&bin)
        .arg("--config")
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (stream, _) = tokio::time::timeout(Duration::from_secs(30), inverter.accept())
        .await
        .expect("the app connects to the inverter")
        .unwrap();
    let cfg = PollConfig {
        timeout: Duration::from_secs(1),
        retries: 0,
        gap: Duration::from_millis(0),
        echo: false,
    };
    let mut poller = Poller::new(stream, Decoder::new(), cfg);

    let start = Instant::now();
    let mut latencies_ms: Vec<f64> = Vec::new();
    let mut unanswered = 0u32;
    let mut samples: Vec<(usize, f64, f64)> = Vec::new();
    let mut cpu0 = None;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut k = 0u64;
    let phase2 = WARM_UP + Duration::from_secs(seconds);
    while start.elapsed() < phase2 + Duration::from_secs(seconds) {
        tick.tick().await;
        k += 1;
        let measuring = start.elapsed() >= WARM_UP;
        let reading = measuring && start.elapsed() < phase2;
        if start.elapsed() >= phase2 && cpu0.is_none() {
            cpu0 = Some((proc_cpu_ticks(pid), Instant::now()));
        }
        if k % 2 == 0 {
            for body in [RequestBody::SystemAnalog, RequestBody::SystemManagement] {
                let req = Request::new(2, body);
                let frame = req.to_frame().unwrap().to_bytes();
                let cmd = req.command();
                let t = Instant::now();
                let got = poller
                    .request(&frame, |f| {
                        f.as_ref()
                            .is_ok_and(|f| Response::from_frame(f, cmd).answers(&req))
                    })
                    .await;
                match got {
                    Ok(Ok(_)) if measuring => {
                        latencies_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok(Ok(_)) => {}
                    _ => unanswered += 1,
                }
            }
        }
        if reading {
            if let Some(st) = get_state(web_port).await {
                for (i, p) in st["packs"].as_array().into_iter().flatten().enumerate() {
                    if let (Some(s), Some(d)) = (p["poll_started_s"].as_f64(), p["poll_s"].as_f64())
                    {
                        if !samples
                            .iter()
                            .any(|(j, t, _)| *j == i && (*t - s).abs() < 1e-9)
                        {
                            samples.push((i, s, d));
                        }
                    }
                }
            }
        }
    }
    let (c0, t0) = cpu0.unwrap();
    let cpu_s = (proc_cpu_ticks(pid) - c0) as f64 / 100.0;
    let wall_s = t0.elapsed().as_secs_f64();
    let hwm = proc_kb(pid, "VmHWM:");
    let rss = proc_kb(pid, "VmRSS:");
    let _ = child.kill();
    let _ = child.wait();

    // Rounds: anchored on pack 0's polls; each other pack's poll within ±0.5 s of it.
    let packs_n = links.len();
    let mut cycles: Vec<f64> = Vec::new();
    for (_, a, _) in samples.iter().filter(|(i, _, _)| *i == 0) {
        let round: Vec<(f64, f64)> = (0..packs_n)
            .filter_map(|i| {
                samples
                    .iter()
                    .find(|(j, s, _)| *j == i && (s - a).abs() < 0.5)
                    .map(|(_, s, d)| (*s, s + d))
            })
            .collect();
        if round.len() == packs_n {
            let first = round.iter().map(|r| r.0).fold(f64::MAX, f64::min);
            let last = round.iter().map(|r| r.1).fold(f64::MIN, f64::max);
            cycles.push((last - first) * 1000.0);
        }
    }
    let mut exch: Vec<f64> = samples.iter().map(|(_, _, d)| d * 1000.0).collect();
    exch.sort_by(f64::total_cmp);
    cycles.sort_by(f64::total_cmp);
    latencies_ms.sort_by(f64::total_cmp);
    let mean_exch = exch.iter().sum::<f64>() / exch.len().max(1) as f64;
    let max_exch = exch.last().copied().unwrap_or(0.0);
    println!(
        "packs {packs_n} at 9600 Bd (line timing), 2 × {seconds} s measured after {} s warm-up",
        WARM_UP.as_secs()
    );
    if exch.is_empty() {
        println!("no poll timing sampled");
        return;
    }
    println!(
        "per-pack 0x42+0x44 exchange: n={} mean {mean_exch:.1} ms, p50 {:.1} ms, max {max_exch:.1} ms",
        exch.len(),
        pct(&exch, 0.5)
    );
    if cycles.is_empty() {
        println!("full poll cycle: no complete round sampled");
    } else {
        let median = pct(&cycles, 0.5);
        let worst = cycles.last().copied().unwrap_or(0.0);
        println!(
            "full poll cycle (12 × 0x42+0x44, first request to last reply): n={} p50 {median:.1} ms, max {worst:.1} ms = {:.2}× / {:.2}× one port's mean exchange",
            cycles.len(),
            median / mean_exch,
            worst / mean_exch,
        );
        let seq = 12.0 * mean_exch;
        println!(
            "sequential baseline (the reference: 12 × mean exchange) {seq:.1} ms; parallel p50 is {:.1}× faster",
            seq / median
        );
    }
    if !latencies_ms.is_empty() {
        println!(
            "inverter answers (0x61, 0x63 over TCP): n={} p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, unanswered {unanswered}",
            latencies_ms.len(),
            pct(&latencies_ms, 0.5),
            pct(&latencies_ms, 0.99),
            latencies_ms.last().copied().unwrap_or(0.0)
        );
    }
    println!(
        "pace2pylon process, second phase (inverter polls only): CPU {:.3} % of one core ({cpu_s:.2} s in {wall_s:.1} s), peak RSS {:.1} MiB (now {:.1} MiB)",
        cpu_s / wall_s * 100.0,
        hwm as f64 / 1024.0,
        rss as f64 / 1024.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}
