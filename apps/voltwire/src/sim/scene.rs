//! `voltwire sim scene FILE.toml`: every device of a simulated installation on its own link,
//! all on one plant (`voltwire_sim::scene`). One `{"listening": LINK, "name": NAME, "kind":
//! KIND}` line per device, in the file's order; then it serves until SIGINT/SIGTERM.

use std::io::{self, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use voltwire_sim::scene::{Scene, ServeExternal};

/// `voltwire sim scene`.
#[derive(Debug, Args)]
pub(crate) struct SceneArgs {
    /// The scene file (TOML): packs, flows, devices and their links, scripted events (see
    /// examples/scenes/).
    #[arg(value_name = "FILE.toml")]
    file: PathBuf,

    /// Run the plant and the script this many times faster than real time.
    #[arg(long, value_name = "N", default_value_t = 1.0, value_parser = super::speed)]
    speed: f64,

    /// Check the scene file and exit (status 0 when it holds, 2 naming the field when not).
    #[arg(long)]
    check: bool,
}

/// Load the scene and serve it.
pub(crate) fn run(args: &SceneArgs) -> ExitCode {
    let path = args.file.display().to_string();
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => return super::usage(&format!("scene {path}: {e}")),
    };
    let scene = match Scene::parse(&text) {
        Ok(s) => s,
        Err(e) => return super::usage(&format!("scene {path}: {e}")),
    };
    if args.check {
        return ExitCode::SUCCESS;
    }
    let kinds: Vec<&'static str> = scene.devices.iter().map(|d| d.kind.name()).collect();
    let mut next = 0usize;
    let announce = move |name: &str, link: &str| -> io::Result<()> {
        let kind = kinds.get(next).copied().unwrap_or_default();
        next += 1;
        let mut out = io::stdout().lock();
        writeln!(
            out,
            "{}",
            serde_json::json!({ "listening": link, "name": name, "kind": kind })
        )?;
        out.flush()
    };
    super::serve_blocking(async move {
        let stop = super::stop_signal()?;
        let external: ServeExternal = Box::new(|e| Box::pin(super::meter::serve_in_scene(e)));
        scene
            .serve(args.speed, super::log, announce, external, stop)
            .await
    })
}
