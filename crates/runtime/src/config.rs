//! TOML configuration with errors a person can act on.
//!
//! Config types derive `serde::Deserialize` with `#[serde(deny_unknown_fields)]`; [`load`]
//! reads a file and, on failure, reports the file, line, column, the field (as a dotted path)
//! and a fix. [`check_config`] backs every app's `--check-config`, [`write_template`] its
//! `--init` (a commented template the app ships as a `&str`).
//!
//! ```
//! use voltwire_runtime::config;
//!
//! #[derive(Debug, serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Port { url: String, timeout_ms: u32 }
//! #[derive(Debug, serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct App { port: Port }
//!
//! let text = "[port]\nurl = \"tcp://127.0.0.1:4001\"\ntimout_ms = 500\n";
//! let err = config::parse::<App>(text, "app.toml".as_ref()).unwrap_err();
//! assert_eq!((err.line(), err.column()), (Some(3), Some(1)));
//! assert_eq!(err.field(), Some("port.timout_ms"));
//! assert!(err.fix().unwrap().contains("timeout_ms"));
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// A configuration error: where, what, and how to fix it (boxed: errors stay small).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(Box<Details>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Details {
    file: PathBuf,
    line: Option<usize>,
    column: Option<usize>,
    field: Option<String>,
    message: String,
    fix: Option<String>,
}

impl ConfigError {
    /// The file.
    pub fn file(&self) -> &Path {
        &self.0.file
    }

    /// 1-based line, when known.
    pub fn line(&self) -> Option<usize> {
        self.0.line
    }

    /// 1-based column (in characters), when known.
    pub fn column(&self) -> Option<usize> {
        self.0.column
    }

    /// The field as a dotted path (`port.timeout_ms`), when known.
    pub fn field(&self) -> Option<&str> {
        self.0.field.as_deref()
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// How to fix it, when we can say.
    pub fn fix(&self) -> Option<&str> {
        self.0.fix.as_deref()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        write!(f, "{}", d.file.display())?;
        if let Some(l) = d.line {
            write!(f, ":{l}")?;
            if let Some(c) = d.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(field) = &d.field {
            write!(f, "field `{field}`: ")?;
        }
        write!(f, "{}", d.message)?;
        if let Some(fix) = &d.fix {
            write!(f, "; fix: {fix}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    fn io(file: &Path, e: &std::io::Error, fix: &str) -> Self {
        Self(Box::new(Details {
            file: file.to_owned(),
            line: None,
            column: None,
            field: None,
            message: e.to_string(),
            fix: Some(fix.to_owned()),
        }))
    }
}

/// Read the text of the configuration file at `path` (for apps that validate it after
/// [`parse`] and point at fields with [`invalid`]).
///
/// # Errors
/// A [`ConfigError`] naming the file and the fix when it cannot be read.
pub fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| {
        let fix = if path.is_dir() {
            "this is a directory: give the path of the configuration file"
        } else {
            "check the path, or create a template with --init"
        };
        ConfigError::io(path, &e, fix)
    })
}

/// Read and deserialize the TOML file at `path`.
///
/// # Errors
/// A [`ConfigError`] for an unreadable file, a TOML syntax error, an unknown, missing or
/// ill-typed field.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = read(path)?;
    parse(&text, path)
}

/// Deserialize TOML `text`; `file` is only used in messages.
///
/// # Errors
/// As [`load`], without the I/O part.
pub fn parse<T: DeserializeOwned>(text: &str, file: &Path) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| describe(&e, text, file))
}

/// `--check-config`: load the file and return a one-line confirmation.
///
/// # Errors
/// As [`load`].
pub fn check_config<T: DeserializeOwned>(path: &Path) -> Result<String, ConfigError> {
    load::<T>(path).map(|_| format!("{}: configuration is valid", path.display()))
}

/// `--init`: write `template` to `path`, refusing to overwrite an existing file unless
/// `force`.
///
/// # Errors
/// When the file exists (without `force`) or cannot be written.
pub fn write_template(path: &Path, template: &str, force: bool) -> Result<(), ConfigError> {
    let refuse = |message: &str, fix: &str| {
        ConfigError(Box::new(Details {
            file: path.to_owned(),
            line: None,
            column: None,
            field: None,
            message: message.to_owned(),
            fix: Some(fix.to_owned()),
        }))
    };
    if path.is_dir() {
        return Err(refuse(
            "is a directory",
            "give the path of a file to create, e.g. DIR/app.toml",
        ));
    }
    if !force && path.exists() {
        return Err(refuse(
            "file already exists; not overwriting",
            "add --force to overwrite it, or choose another path",
        ));
    }
    let mut text = template.to_owned();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    std::fs::write(path, text)
        .map_err(|e| ConfigError::io(path, &e, "check that the directory exists and is writable"))
}

/// A value an app's validation refuses after parsing: the field (the dotted path with array
/// indexes, e.g. `output[1].current_scale`), what is wrong, and the fix. [`parse_checked`]
/// turns it into a [`ConfigError`] pointing at that field's line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The field, e.g. `output[1].current_scale`.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl Invalid {
    /// An error for `field`.
    pub fn new(
        field: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "field `{}`: {}; fix: {}",
            self.field, self.message, self.fix
        )
    }
}

impl std::error::Error for Invalid {}

/// Read `path`, parse it as `T` and `check` it (an app's validation into its settings).
///
/// # Errors
/// The read or parse error (file, line, column, field), or `check`'s [`Invalid`] located in
/// the text (see [`invalid`]), as text.
pub fn load_checked<T: DeserializeOwned, S>(
    path: &Path,
    check: impl FnOnce(&T) -> Result<S, Invalid>,
) -> Result<S, String> {
    let text = read(path).map_err(|e| e.to_string())?;
    parse_checked(&text, path, check)
}

/// Parse TOML `text` as `T` and `check` it (`file` only names it in messages); a validation
/// error points at the line and column of its field in `text`.
///
/// # Errors
/// As [`load_checked`].
pub fn parse_checked<T: DeserializeOwned, S>(
    text: &str,
    file: &Path,
    check: impl FnOnce(&T) -> Result<S, Invalid>,
) -> Result<S, String> {
    let cfg: T = parse(text, file).map_err(|e| e.to_string())?;
    check(&cfg).map_err(|e| invalid(text, file, &e.field, &e.message, &e.fix).to_string())
}

/// A configuration error found after parsing (a value out of range, two things that
/// cannot go together): `field` is the dotted path with array indexes as the app's
/// validation names it (`output[1].current_scale`, `gateway.tick_ms`, `input[0]`), and the
/// error points at the line and column of that key in `text` (see [`locate`]).
pub fn invalid(text: &str, file: &Path, field: &str, message: &str, fix: &str) -> ConfigError {
    let (line, column) = locate(text, field).map_or((None, None), |(l, c)| (Some(l), Some(c)));
    ConfigError(Box::new(Details {
        file: file.to_owned(),
        line,
        column,
        field: Some(field.to_owned()),
        message: message.to_owned(),
        fix: Some(fix.to_owned()),
    }))
}

/// Where `field` is written in the TOML `text`, as 1-based (line, column): for
/// `table.key` or `array[i].key` the start of the key's value in that table (the i-th
/// `[[array]]`); the table's header when the key is not written there (its default was
/// used) or no key is named; `None` when the table is not in the text. A top-level
/// `key` is looked for before the first table header.
pub fn locate(text: &str, field: &str) -> Option<(usize, usize)> {
    let (head, key) = match field.split_once('.') {
        Some((h, k)) => (h, Some(k)),
        None => (field, None),
    };
    let (table, index) = match head.split_once('[') {
        Some((t, rest)) => (
            t,
            rest.strip_suffix(']').and_then(|i| i.parse::<usize>().ok()),
        ),
        None => (head, None),
    };
    let lines: Vec<&str> = text.lines().collect();
    let header = |l: &str| -> Option<(bool, String)> {
        let t = l.trim_start();
        let array = t.starts_with("[[");
        let body = t.trim_start_matches('[');
        let end = body.find(']')?;
        t.starts_with('[')
            .then(|| (array, body.get(..end).unwrap_or_default().trim().to_owned()))
    };
    // The line of the table's header (0-based), and whether the table was found at all.
    let mut seen = 0usize;
    let mut start = None;
    for (n, l) in lines.iter().enumerate() {
        if let Some((array, name)) = header(l) {
            if name == table && (array == index.is_some()) {
                if index.is_none_or(|i| i == seen) {
                    start = Some(n);
                    break;
                }
                seen += 1;
            }
        }
    }
    let Some(start) = start else {
        // A top-level key (before the first header).
        let key = head;
        return lines
            .iter()
            .take_while(|l| header(l).is_none())
            .enumerate()
            .find_map(|(n, l)| value_column(l, key).map(|c| (n + 1, c)));
    };
    let Some(key) = key.map(|k| k.split(['.', '[']).next().unwrap_or(k)) else {
        return Some((start + 1, 1));
    };
    lines
        .iter()
        .enumerate()
        .skip(start + 1)
        .take_while(|(_, l)| header(l).is_none())
        .find_map(|(n, l)| value_column(l, key).map(|c| (n + 1, c)))
        .or(Some((start + 1, 1)))
}

/// The 1-based column where the value of `key = value` starts on `line`, if `line` sets
/// `key` (bare or quoted).
fn value_column(line: &str, key: &str) -> Option<usize> {
    let t = line.trim_start();
    let rest = t.strip_prefix(key).or_else(|| {
        t.strip_prefix('"')
            .and_then(|r| r.strip_prefix(key)?.strip_prefix('"'))
    })?;
    let after = rest.trim_start().strip_prefix('=')?;
    let value = after.trim_start();
    let byte = line.len() - value.len();
    Some(line.get(..byte).map_or(1, |p| p.chars().count() + 1))
}

fn describe(e: &toml::de::Error, text: &str, file: &Path) -> ConfigError {
    let msg = e.message().trim().to_owned();
    let span = e.span();
    let (line, column) = span.as_ref().map_or((None, None), |s| {
        let (l, c) = line_col(text, s.start);
        (Some(l), Some(c))
    });
    let table = span
        .as_ref()
        .map(|s| table_at(text, s.start))
        .unwrap_or_default();
    let quoted = backticked(&msg);
    let key_here = span.as_ref().and_then(|s| key_on_line(text, s.start));
    let (field_name, fix) = if msg.starts_with("unknown field") {
        let expected: Vec<&str> = quoted.iter().skip(1).copied().collect();
        let name = quoted.first().map(|s| (*s).to_owned());
        let fix = match (
            name.as_deref(),
            closest(name.as_deref().unwrap_or(""), &expected),
        ) {
            (Some(_), Some(best)) => format!(
                "did you mean `{best}`? known fields here: {}",
                list(&expected)
            ),
            (Some(_), None) if expected.is_empty() => {
                "remove it: this table takes no fields".to_owned()
            }
            _ => format!("remove it; known fields here: {}", list(&expected)),
        };
        (name, Some(fix))
    } else if msg.starts_with("missing field") {
        let name = quoted.first().map(|s| (*s).to_owned());
        let fix = name.as_ref().map(|n| {
            if table.is_empty() {
                format!("add `{n} = ...` at the top level")
            } else if let Some((name, _)) = table.split_once('[') {
                format!("add `{n} = ...` to this [[{name}]] table ({table})")
            } else {
                format!("add `{n} = ...` to the [{table}] table")
            }
        });
        (name, fix)
    } else if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
        let fix = msg
            .split_once("expected ")
            .map(|(_, want)| format!("give a value of this type: {want}"));
        (key_here, fix)
    } else if msg.starts_with("unknown variant") {
        let expected: Vec<&str> = quoted.iter().skip(1).copied().collect();
        (key_here, Some(format!("use one of: {}", list(&expected))))
    } else {
        (
            key_here,
            Some("fix the TOML syntax at this position (see https://toml.io)".to_owned()),
        )
    };
    let field = field_name.map(|n| {
        // A missing field's span covers the whole table; others point at the key itself.
        if table.is_empty() || n.contains('.') {
            n
        } else {
            format!("{table}.{n}")
        }
    });
    ConfigError(Box::new(Details {
        file: file.to_owned(),
        line,
        column,
        field,
        message: msg,
        fix,
    }))
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// 1-based line and character column of byte `offset`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The `[table]` header in force on the line holding byte `offset` (that line included: a
/// missing field's span starts at its table's header), as a field path: `gateway`, or
/// `input[1]` for the second `[[input]]`. Empty at the top level.
fn table_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let end = text
        .get(offset..)
        .and_then(|r| r.find('\n'))
        .map_or(text.len(), |i| offset + i);
    let before = text.get(..end).unwrap_or(text);
    let header = |l: &str| -> Option<(bool, String)> {
        let l = l.trim();
        let array = l.strip_prefix("[[").and_then(|r| r.strip_suffix("]]"));
        let inner = array.or_else(|| l.strip_prefix('[').and_then(|r| r.strip_suffix(']')));
        inner.map(|t| (array.is_some(), t.trim().replace(['"', ' '], "")))
    };
    let Some((array, name)) = before.lines().rev().find_map(header) else {
        return String::new();
    };
    if !array {
        return name;
    }
    let index = before
        .lines()
        .filter_map(header)
        .filter(|(a, n)| *a && *n == name)
        .count()
        .saturating_sub(1);
    format!("{name}[{index}]")
}

/// The key of the `key = value` line that holds byte `offset`.
fn key_on_line(text: &str, offset: usize) -> Option<String> {
    let before = text.get(..offset.min(text.len()))?;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(start..)?.lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().replace(['"', ' '], "");
    (!key.is_empty() && !key.starts_with('[')).then_some(key)
}

/// The parts of `msg` between backticks.
fn backticked(msg: &str) -> Vec<&str> {
    msg.split('`').skip(1).step_by(2).collect()
}

/// The candidate closest to `name` by edit distance, if reasonably close.
fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(name, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.last().copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(line_col("a\nbc = 1", 3), (2, 2));
        assert_eq!(table_at("[a]\nx=1\n[b.c]\ny=2", 15), "b.c");
        assert_eq!(key_on_line("[a]\n  foo = 1\n", 8), Some("foo".to_owned()));
        assert_eq!(
            closest("timout_ms", &["url", "timeout_ms"]),
            Some("timeout_ms")
        );
        assert_eq!(closest("zzz", &["url", "timeout_ms"]), None);
    }
}
