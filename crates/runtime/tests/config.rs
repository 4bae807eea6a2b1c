//! Config errors name the file, line, column, field and fix; `--init` / `--check-config`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::many_single_char_names,
    clippy::similar_names,
    clippy::naive_bytecount,
    reason = "test code"
)]

mod common;

use serde::Deserialize;
use voltwire_runtime::config;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Port {
    url: String,
    timeout_ms: u32,
    #[serde(default)]
    echo: bool,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum Mode {
    Charge,
    Discharge,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct App {
    name: String,
    mode: Mode,
    port: Port,
}

const TEMPLATE: &str = r#"# voltwire test app
name = "house"          # shown in MQTT discovery
mode = "charge"         # charge | discharge

[port]
# serial:///dev/ttyUSB0?baud=9600 or tcp://host:port
url = "tcp://127.0.0.1:4001"
timeout_ms = 500
"#;

fn write(name: &str, text: &str) -> std::path::PathBuf {
    let p = common::scratch(name).join("app.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn template_init_and_check() {
    let dir = common::scratch("init");
    let p = dir.join("app.toml");
    config::write_template(&p, TEMPLATE, false).unwrap();
    let app: App = config::load(&p).unwrap();
    assert_eq!(app.port.timeout_ms, 500);
    assert_eq!(app.mode, Mode::Charge);
    assert!(config::check_config::<App>(&p).unwrap().contains("valid"));
    // No silent overwrite.
    let e = config::write_template(&p, "x", false).unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
    config::write_template(&p, TEMPLATE, true).unwrap();
}

#[test]
fn unknown_field_names_line_column_field_and_fix() {
    let text = TEMPLATE.replace("timeout_ms = 500", "  timout_ms = 500");
    let p = write("unknown", &text);
    let e = config::load::<App>(&p).unwrap_err();
    assert_eq!(e.file(), p.as_path());
    assert_eq!(e.line(), Some(8));
    assert_eq!(e.column(), Some(3));
    assert_eq!(e.field(), Some("port.timout_ms"));
    assert!(
        e.fix().unwrap().contains("did you mean `timeout_ms`"),
        "{e}"
    );
    let s = e.to_string();
    assert!(
        s.starts_with(&format!("{}:8:3: field `port.timout_ms`", p.display())),
        "{s}"
    );
}

#[test]
fn missing_field() {
    let p = write("missing", &TEMPLATE.replace("timeout_ms = 500\n", ""));
    let e = config::load::<App>(&p).unwrap_err();
    assert_eq!(e.field(), Some("port.timeout_ms"), "{e}");
    assert!(e.line().is_some());
    assert!(
        e.fix()
            .unwrap()
            .contains("add `timeout_ms = ...` to the [port] table"),
        "{e}"
    );
}

#[test]
fn wrong_type_and_bad_variant() {
    let p = write(
        "type",
        &TEMPLATE.replace("timeout_ms = 500", "timeout_ms = \"fast\""),
    );
    let e = config::load::<App>(&p).unwrap_err();
    assert_eq!((e.line(), e.column()), (Some(8), Some(14)), "{e}");
    assert_eq!(e.field(), Some("port.timeout_ms"));
    assert!(e.fix().unwrap().contains("u32"), "{e}");

    let p = write(
        "variant",
        &TEMPLATE.replace("mode = \"charge\"", "mode = \"idle\""),
    );
    let e = config::load::<App>(&p).unwrap_err();
    assert_eq!(e.line(), Some(3));
    assert_eq!(e.field(), Some("mode"));
    assert!(e.fix().unwrap().contains("`charge`, `discharge`"), "{e}");

    let p = write("toplevel", &format!("colour = 1\n{TEMPLATE}"));
    let e = config::load::<App>(&p).unwrap_err();
    assert_eq!(
        (e.line(), e.column(), e.field()),
        (Some(1), Some(1), Some("colour"))
    );
}

#[test]
fn syntax_error_and_missing_file() {
    let p = write(
        "syntax",
        &TEMPLATE.replace("timeout_ms = 500", "timeout_ms = "),
    );
    let e = config::load::<App>(&p).unwrap_err();
    assert_eq!(e.line(), Some(8), "{e}");
    assert!(e.fix().unwrap().contains("syntax"), "{e}");

    let e = config::load::<App>("/nonexistent/app.toml".as_ref()).unwrap_err();
    assert_eq!(e.file(), std::path::Path::new("/nonexistent/app.toml"));
    assert!(e.fix().unwrap().contains("--init"));
}
