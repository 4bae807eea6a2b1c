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

#[test]
fn locate_points_at_the_value_of_a_field_in_its_table() {
    use voltwire_runtime::config::locate;
    let text = "top = 1\n\n[gateway]\ntick_ms = 100\n\n[[input]]\nname = \"a\"\n\n[[input]]\nname = \"b\"\n  capacity_ah =  0\n\n[[output]]\nname = \"o\"\n";
    assert_eq!(locate(text, "top"), Some((1, 7)));
    assert_eq!(locate(text, "gateway.tick_ms"), Some((4, 11)));
    assert_eq!(locate(text, "input[1].capacity_ah"), Some((11, 18)));
    assert_eq!(locate(text, "input[0].name"), Some((7, 8)));
    // A key not written (its default was used): the table's header.
    assert_eq!(locate(text, "input[0].capacity_ah"), Some((6, 1)));
    assert_eq!(locate(text, "output[0]"), Some((13, 1)));
    assert_eq!(locate(text, "gateway.fault_policy"), Some((3, 1)));
    assert_eq!(locate(text, "input[2].name"), None);
    assert_eq!(locate(text, "mqtt.url"), None);
}

#[test]
fn invalid_names_file_line_column_field_and_fix() {
    let text = "[gateway]\ntick_ms = 5\n";
    let e = voltwire_runtime::config::invalid(
        text,
        std::path::Path::new("gw.toml"),
        "gateway.tick_ms",
        "5 ms is outside 10 ..= 10000 ms",
        "give 100",
    );
    assert_eq!(
        e.to_string(),
        "gw.toml:2:11: field `gateway.tick_ms`: 5 ms is outside 10 ..= 10000 ms; fix: give 100"
    );
}

#[test]
fn init_refuses_a_directory_and_an_existing_file_names_force() {
    let dir = std::env::temp_dir().join(format!("voltwire-init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let e = voltwire_runtime::config::write_template(&dir, "x = 1\n", true).unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");
    let f = dir.join("a.toml");
    voltwire_runtime::config::write_template(&f, "x = 1", false).unwrap();
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "x = 1\n");
    let e = voltwire_runtime::config::write_template(&f, "x = 1\n", false).unwrap_err();
    assert!(e.to_string().contains("--force"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn errors_in_an_array_of_tables_name_the_entry_by_index() {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Input {
        #[allow(dead_code, reason = "only deserialised")]
        name: String,
        #[allow(dead_code, reason = "only deserialised")]
        bus: String,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct App {
        #[allow(dead_code, reason = "only deserialised")]
        input: Vec<Input>,
    }
    let text = "[[input]]\nname = \"a\"\nbus = \"x\"\n\n[[input]]\nname = \"b\"\n";
    let e = config::parse::<App>(text, "a.toml".as_ref()).unwrap_err();
    assert_eq!(e.field(), Some("input[1].bus"), "{e}");
    assert!(
        e.fix().unwrap().contains("[[input]] table (input[1])"),
        "{e}"
    );
    let text = "[[input]]\nname = \"a\"\nbus = \"x\"\n\n[[input]]\nname = \"b\"\nbus = \"y\"\ncolour = 1\n";
    let e = config::parse::<App>(text, "a.toml".as_ref()).unwrap_err();
    assert_eq!(e.field(), Some("input[1].colour"), "{e}");
    assert_eq!(e.line(), Some(8), "{e}");
}
