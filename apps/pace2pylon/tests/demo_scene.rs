//! `--demo`'s installation is `examples/scenes/pace2pylon.toml`: run through the scene engine
//! beside the real app on tokio's paused clock, the scripted drop of pack4's port is seen in
//! order (both directions on, off for `pack_no_comm` once it has been silent for the no-comm
//! time, on again after the hold); the same file served as `voltwire sim scene` serves it
//! (every device on its own port) feeds a real `pace2pylon` binary over TCP; the binary's
//! `--demo` prints the script and the limits the packs themselves report.
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

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use pace2pylon::config::Config;
use pace2pylon::demo::{self, InverterView};
use tokio::net::TcpListener;
use tokio::sync::watch;
use voltwire_sim::scene::{Kind, Scene};

/// The merged limits of the scene's packs: 80 % of the summed over-current protections,
/// 11 packs at 1.05 C of 100 Ah (105 A) and pack12 at the 80 A its settings give for
/// charging.
const CCL_A: f64 = 0.8 * (11.0 * 105.0 + 80.0);
const DCL_A: f64 = 0.8 * (12.0 * 105.0);

#[test]
fn the_demo_scene_is_the_example_file_without_its_can_inverter() {
    let file = Scene::parse(demo::DEMO_SCENE).unwrap();
    let scene = demo::scene().unwrap();
    assert_eq!(scene.devices.len(), file.devices.len() - 1);
    assert!(
        scene
            .devices
            .iter()
            .all(|d| d.kind != Kind::PylontechInverter)
    );
    assert_eq!(
        scene
            .devices
            .iter()
            .filter(|d| d.kind == Kind::Pace)
            .count(),
        12
    );
    assert_eq!(
        demo::script_summary(&scene),
        "pack4's port drops at 20 s for 15 s; pack7 goes silent at 120 s; pack7 is back at \
         180 s; pack3's cell 5 drifts at 300 s"
    );
    // pack12's hand-set limits are the ones the constants above count.
    let s = scene.devices[11].settings.as_ref().unwrap();
    assert_eq!(s.charge_over_current.protect.0, 80_000);
}

#[test]
fn scene_config_names_every_announced_link_and_no_fallback() {
    let scene = demo::scene().unwrap();
    let announced: Vec<(String, String)> = scene
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.clone(), format!("127.0.0.1:{}", 40_000 + i)))
        .collect();
    let text = demo::scene_config_text(&scene, &announced, "127.0.0.1:1", "/tmp/x.state").unwrap();
    assert!(!text.contains("fallback"), "{text}");
    let s = Config::parse(&text, Path::new("demo.toml")).unwrap();
    assert_eq!(s.pack_links.len(), 12);
    assert!(s.fallback.is_none());
    assert!(text.contains("link = \"tcp://127.0.0.1:40012\""), "{text}");
    // A device the scene did not announce is named.
    let e = demo::scene_config_text(&scene, &announced[..3], "127.0.0.1:1", "/tmp/x.state")
        .unwrap_err();
    assert!(e.to_string().contains("pack4"), "{e}");
}

/// On/off as the inverter last read it, and the supervisor's reasons.
fn state(s: &pace2pylon::engine::Snapshot) -> String {
    let dirs = match (s.decision.charge, s.decision.discharge) {
        (true, true) => "on",
        (false, false) => "off",
        _ => "half",
    };
    let reasons: Vec<&str> = s.decision.reasons.flags().collect();
    format!("{dirs}[{}]", reasons.join(","))
}

#[tokio::test(start_paused = true)]
async fn the_scripted_drop_disables_then_recovers_in_paused_time() {
    let scene = demo::scene().unwrap();
    let world = scene.world(1.0);
    let (links, mut devices) = demo::start_scene(&scene, world).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inverter = listener.local_addr().unwrap().to_string();
    let state_file = voltwire_testkit::scratch_dir("pace2pylon-scene").join("r.state");
    let text =
        demo::scene_config_text(&scene, &links, &inverter, &state_file.to_string_lossy()).unwrap();
    let settings = Config::parse(&text, Path::new("demo.toml")).unwrap();
    let (handles, app) = pace2pylon::app::start(settings).unwrap();
    let (tx, view) = watch::channel(InverterView::default());
    let start = tokio::time::Instant::now();
    let watch = async {
        tokio::spawn(async move {
            let _ = Box::pin(demo::inverter(&listener, tx)).await;
        });
        let mut seen: Vec<(u64, String)> = Vec::new();
        let mut limits_on = None;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        for _ in 0..55 {
            tick.tick().await;
            let t = start.elapsed().as_secs();
            let s = state(&handles.snapshots.borrow());
            if seen.last().is_none_or(|(_, l)| *l != s) {
                seen.push((t, s));
            }
            if let Some(l) = view.borrow().limits {
                if l.3 && l.4 && limits_on.is_none() {
                    limits_on = Some(l);
                }
            }
        }
        (seen, limits_on)
    };
    let (seen, limits_on) = tokio::select! {
        r = app => panic!("the app ended: {r:?}"),
        r = &mut devices => panic!("the scene ended: {r:?}"),
        r = watch => r,
    };
    let states: Vec<&str> = seen.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        states,
        [
            "off[missing_data]",
            "off[]",
            "on[]",
            "off[pack_no_comm]",
            "off[]",
            "on[]"
        ],
        "{seen:?}"
    );
    // Silent from 20 s: no comm after its 10 s; back from 35 s, used after the 5 s hold.
    assert!(seen[3].0 >= 30, "{seen:?}");
    assert!(seen[4].0 >= 35, "{seen:?}");
    assert!(seen[5].0 >= seen[4].0 + 5, "{seen:?}");
    let (cvl, ccl, dcl, _, _) = limits_on.expect("the inverter read both directions on");
    assert!((cvl - 27.35).abs() < 1e-6, "{cvl}");
    assert!(
        (ccl - CCL_A).abs() < 1e-6 && (dcl - DCL_A).abs() < 1e-6,
        "{ccl} {dcl}"
    );
}

/// `voltwire sim scene examples/scenes/pace2pylon.toml` (the same `Scene::serve`), every
/// device on its own port, with a real `pace2pylon` binary configured on those ports: the
/// inverter reads the 12 packs merged, with the packs' own limits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_pace2pylon_reads_the_scene_served_on_tcp() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scenes/pace2pylon.toml");
    let mut scene = Scene::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    // The installation without its script (the paused-time test covers that).
    scene.events.clear();
    for d in &mut scene.devices {
        d.drop = None;
    }
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
            move |n, l| {
                let _ = tx.send((n.to_owned(), l.to_owned()));
                Ok(())
            },
            voltwire_sim::scene::no_external(),
            std::future::pending(),
        ));
        panic!("the scene ended: {r:?}");
    });
    let mut links = Vec::new();
    while links.len() < scene.devices.len() {
        links.push(rx.recv().await.expect("the scene announces every device"));
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inverter = listener.local_addr().unwrap().to_string();
    let dir = voltwire_testkit::scratch_dir("pace2pylon-scene-tcp");
    let text = demo::scene_config_text(
        &scene,
        &links,
        &inverter,
        &dir.join("r.state").to_string_lossy(),
    )
    .unwrap()
    .replace("recovery_hold_s = 5", "recovery_hold_s = 0.5");
    assert!(text.matches("tcp://").count() >= 14, "{text}");
    let config = dir.join("p.toml");
    std::fs::write(&config, text).unwrap();
    let mut app = tokio::process::Command::new(env!("CARGO_BIN_EXE_pace2pylon"))
        .arg("--config")
        .arg(&config)
        .kill_on_drop(true)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (vtx, mut view) = watch::channel(InverterView::default());
    tokio::spawn(async move {
        let _ = Box::pin(demo::inverter(&listener, vtx)).await;
    });
    let read = tokio::time::timeout(Duration::from_secs(90), async {
        loop {
            {
                let v = view.borrow_and_update();
                if let (Some(a), Some(l)) = (v.analog, v.limits) {
                    if l.3 && l.4 {
                        return (a, l);
                    }
                }
            }
            view.changed().await.unwrap();
        }
    });
    let ((volts, amps, soc), (cvl, ccl, dcl, _, _)) = tokio::select! {
        r = read => r.expect("the inverter reads both directions on"),
        r = app.wait() => panic!("pace2pylon ended: {r:?}"),
    };
    // 8 cells of the simulator's LFP curve at 70 %; the plant's 3 kW discharge; SOC from the
    // scene's coulomb meter.
    assert!((24.0..29.0).contains(&volts), "{volts}");
    assert!(amps < -50.0, "discharging: {amps}");
    assert!((69..=70).contains(&soc), "{soc}");
    assert!((cvl - 27.35).abs() < 1e-6, "{cvl}");
    assert!(
        (ccl - CCL_A).abs() < 1e-6 && (dcl - DCL_A).abs() < 1e-6,
        "{ccl} {dcl}"
    );
    app.kill().await.unwrap();
}

/// The binary's `--demo`: the script in its first line, then status lines until the
/// inverter reads the packs' own limits with both directions on.
#[test]
fn demo_prints_the_script_then_the_packs_limits() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pace2pylon"))
        .args(["--demo", "--duration", "120", "--web-port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.contains("12 simulated Pace packs")
            && first.contains("pack4's port drops at 20 s for 15 s"),
        "{first}"
    );
    let web = lines.next().unwrap().unwrap();
    assert!(
        web.starts_with("demo: status page at http://127.0.0.1:") && web.contains("token"),
        "{web}"
    );
    let want = format!("CCL {CCL_A:.0} A DCL {DCL_A:.0} A charge on discharge on");
    let mut found = None;
    for l in lines {
        let l = l.unwrap();
        assert!(l.starts_with("t="), "{l}");
        if l.contains("packs 12/12") && l.contains(&want) {
            found = Some(l);
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let l = found.expect("a status line with the packs' limits");
    assert!(l.contains("% of 1200 Ah"), "the scene's meter: {l}");
}
