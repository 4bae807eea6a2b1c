//! The Venus OS install layout (`venus/`): the daemontools scripts and `install.sh`, run
//! against a scratch root (`AGGREGATOR_ROOT`) with the built binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    missing_docs
)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn venus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("venus")
}

fn executable(p: &Path) -> bool {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o111 == 0o111
}

fn install(src: &Path, root: &Path, arg: Option<&str>) -> Output {
    let mut c = Command::new("sh");
    c.arg(src.join("install.sh")).env("AGGREGATOR_ROOT", root);
    if let Some(a) = arg {
        c.arg(a);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn run_scripts_are_executable_and_use_the_installed_paths() {
    let run = venus().join("service/run");
    assert!(executable(&run), "service/run is not executable");
    let s = std::fs::read_to_string(&run).unwrap();
    assert!(s.starts_with("#!/bin/sh\n"), "{s}");
    assert!(s.contains("BIN=/data/aggregator/aggregator\n"), "{s}");
    assert!(
        s.contains("CONFIG=/data/aggregator/aggregator.toml\n"),
        "{s}"
    );
    // The config is checked before the aggregator is exec'd with it (so it gets svc's signals).
    let check = s.find("\"$BIN\" --check-config \"$CONFIG\"").expect(&s);
    let exec = s.find("exec \"$BIN\" --config \"$CONFIG\"").expect(&s);
    assert!(check < exec, "{s}");
    assert!(s.contains("exec 2>&1"), "stderr goes to the log: {s}");
    let log = venus().join("service/log/run");
    assert!(executable(&log), "service/log/run is not executable");
    let l = std::fs::read_to_string(&log).unwrap();
    assert!(l.contains("exec multilog t "), "{l}");
    assert!(l.contains("/var/log/aggregator"), "{l}");
    assert!(executable(&venus().join("install.sh")));
    let sh = |f: &str| {
        Command::new("sh")
            .arg("-n")
            .arg(venus().join(f))
            .status()
            .unwrap()
    };
    for f in ["service/run", "service/log/run", "install.sh"] {
        assert!(sh(f).success(), "{f}: syntax");
    }
}

#[test]
fn install_boot_hook_and_uninstall_in_a_scratch_root() {
    let dir = voltwire_testkit::scratch_dir("agg-venus");
    // The unpacked release: the binary next to install.sh and service/.
    let src = dir.join("unpacked");
    std::fs::create_dir_all(src.join("service/log")).unwrap();
    for f in ["install.sh", "service/run", "service/log/run"] {
        std::fs::copy(venus().join(f), src.join(f)).unwrap();
    }
    std::fs::copy(env!("CARGO_BIN_EXE_aggregator"), src.join("aggregator")).unwrap();
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("service")).unwrap();
    std::fs::create_dir_all(root.join("data")).unwrap();
    let dest = root.join("data/aggregator");
    let link = root.join("service/aggregator");
    let rc = root.join("data/rc.local");
    let hook = "/data/aggregator/install.sh --boot";

    // First run: files copied, a template written, nothing started or hooked yet.
    let o = install(&src, &root, None);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("edit it"), "{}", text(&o));
    for f in ["aggregator", "install.sh", "service/run", "service/log/run"] {
        assert!(executable(&dest.join(f)), "{f}");
    }
    assert!(dest.join("aggregator.toml").exists());
    assert!(!link.exists() && !rc.exists());

    // A bad config: refused naming the field, still nothing started or hooked.
    let conf = dest.join("aggregator.toml");
    let good = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, format!("{good}\nbogus_key = 1\n")).unwrap();
    let o = install(&src, &root, None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("bogus_key"), "{}", text(&o));
    assert!(!link.exists() && !rc.exists());

    // Fixed: hooked once (twice installed), linked to the installed service.
    std::fs::write(&conf, &good).unwrap();
    for _ in 0..2 {
        let o = install(&src, &root, None);
        assert!(o.status.success(), "{}", text(&o));
    }
    assert_eq!(std::fs::read_link(&link).unwrap(), dest.join("service"));
    let r = std::fs::read_to_string(&rc).unwrap();
    assert!(r.starts_with("#!/bin/sh\n"), "{r}");
    assert_eq!(r.lines().filter(|l| *l == hook).count(), 1, "{r}");
    assert!(executable(&rc));
    // The config the user edited is never overwritten by a reinstall.
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), good);

    // A firmware update empties /service: the boot hook (run from the installed copy) relinks.
    std::fs::remove_file(&link).unwrap();
    let o = install(&dest, &root, Some("--boot"));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read_link(&link).unwrap(), dest.join("service"));

    // Uninstall: link and hook gone, other rc.local lines, config and binary kept.
    std::fs::write(&rc, format!("{r}echo other\n")).unwrap();
    let o = install(&dest, &root, Some("--uninstall"));
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::symlink_metadata(&link).is_err());
    let r = std::fs::read_to_string(&rc).unwrap();
    assert!(!r.contains(hook) && r.contains("echo other"), "{r}");
    assert!(conf.exists() && dest.join("aggregator").exists());

    let o = install(&dest, &root, Some("--bogus"));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--boot"), "{}", text(&o));
    // The scratch root holds a copy of the binary (≈ 200 MB in a debug build): remove it on
    // success so repeated runs do not fill the disk; a failed run keeps it to look at.
    let _ = std::fs::remove_dir_all(&dir);
}
