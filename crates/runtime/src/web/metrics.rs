//! Metrics in the Prometheus text exposition format (version 0.0.4).
//!
//! An app fills a [`Metrics`] from its state (gauges with the unit in the name, e.g.
//! `voltwire_battery_voltage_volts`, counters ending in `_total`), one sample per label set;
//! [`Metrics::render`] groups the samples by family with one `# HELP` and one `# TYPE` line
//! each. Names and labels are checked when added: a bad name is a programming error of the
//! app, so it is logged and the sample dropped, never a broken scrape.

use std::fmt::Write as _;

/// The kind of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that goes up and down (a voltage, an age).
    Gauge,
    /// A count that only grows (frames, errors, reconnects); the name ends in `_total`.
    Counter,
}

impl Kind {
    const fn name(self) -> &'static str {
        match self {
            Self::Gauge => "gauge",
            Self::Counter => "counter",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Family {
    name: String,
    help: String,
    kind: Kind,
    samples: Vec<(String, f64)>,
}

/// A set of metric families, in the order their first sample was added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    families: Vec<Family>,
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*` (label names: no `:`).
fn valid_name(name: &str, colon: bool) -> bool {
    let ok = |c: char, first: bool| {
        c.is_ascii_alphabetic() || c == '_' || (colon && c == ':') || (!first && c.is_ascii_digit())
    };
    let mut chars = name.chars();
    chars.next().is_some_and(|c| ok(c, true)) && chars.all(|c| ok(c, false))
}

fn escape_label(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn value(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v}");
    }
}

impl Metrics {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a gauge sample: `name` carries its unit (`_volts`, `_amperes`, `_seconds`, …),
    /// `labels` are `(name, value)` pairs. A `None` value adds nothing (unknown is not 0).
    pub fn gauge(&mut self, name: &str, help: &str, labels: &[(&str, &str)], v: Option<f64>) {
        if let Some(v) = v {
            self.add(name, help, Kind::Gauge, labels, v);
        }
    }

    /// Add a counter sample; `name` must end in `_total`.
    pub fn counter(&mut self, name: &str, help: &str, labels: &[(&str, &str)], v: u64) {
        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^53")]
        self.add(name, help, Kind::Counter, labels, v as f64);
    }

    /// Add a sample of `kind`.
    pub fn add(&mut self, name: &str, help: &str, kind: Kind, labels: &[(&str, &str)], v: f64) {
        if !valid_name(name, true) || (kind == Kind::Counter && !name.ends_with("_total")) {
            tracing::error!(
                metric = name,
                "bad metric name (a counter ends in _total); sample dropped"
            );
            return;
        }
        let mut key = String::new();
        for (i, (k, val)) in labels.iter().enumerate() {
            if !valid_name(k, false) || k.starts_with("__") {
                tracing::error!(metric = name, label = k, "bad label name; sample dropped");
                return;
            }
            key.push_str(if i == 0 { "{" } else { "," });
            key.push_str(k);
            key.push_str("=\"");
            escape_label(val, &mut key);
            key.push('"');
        }
        if !key.is_empty() {
            key.push('}');
        }
        if !self.families.iter().any(|f| f.name == name) {
            self.families.push(Family {
                name: name.to_owned(),
                help: help.to_owned(),
                kind,
                samples: Vec::new(),
            });
        }
        let fam = self.families.iter_mut().find(|f| f.name == name);
        let Some(fam) = fam else { return };
        if fam.kind != kind {
            tracing::error!(
                metric = name,
                "metric added as gauge and counter; sample dropped"
            );
            return;
        }
        if fam.samples.iter().any(|(k, _)| *k == key) {
            tracing::error!(
                metric = name,
                labels = key,
                "duplicate metric sample; dropped"
            );
            return;
        }
        fam.samples.push((key, v));
    }

    /// Append the families of `other` (e.g. the web server's own counters).
    pub fn extend(&mut self, other: &Self) {
        for f in &other.families {
            for (k, v) in &f.samples {
                // Re-add through the checks (duplicates across the two are dropped).
                if let Some(fam) = self.families.iter_mut().find(|x| x.name == f.name) {
                    if fam.kind == f.kind && !fam.samples.iter().any(|(x, _)| x == k) {
                        fam.samples.push((k.clone(), *v));
                    }
                } else {
                    self.families.push(Family {
                        name: f.name.clone(),
                        help: f.help.clone(),
                        kind: f.kind,
                        samples: vec![(k.clone(), *v)],
                    });
                }
            }
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.families.iter().map(|f| f.samples.len()).sum()
    }

    /// No sample at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text exposition format: `# HELP`, `# TYPE`, then one line per sample.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.families {
            let _ = write!(out, "# HELP {} ", f.name);
            escape_help(&f.help, &mut out);
            let _ = writeln!(out, "\n# TYPE {} {}", f.name, f.kind.name());
            for (labels, v) in &f.samples {
                out.push_str(&f.name);
                out.push_str(labels);
                out.push(' ');
                value(*v, &mut out);
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_families_once_with_escaped_labels() {
        let mut m = Metrics::new();
        m.gauge(
            "voltwire_input_voltage_volts",
            "Pack voltage, V",
            &[("input", "bms1")],
            Some(52.5),
        );
        m.counter(
            "voltwire_input_frames_total",
            "Frames",
            &[("input", "a\"b\\c\nd")],
            7,
        );
        m.gauge(
            "voltwire_input_voltage_volts",
            "ignored",
            &[("input", "bms2")],
            Some(-0.25),
        );
        m.gauge("voltwire_input_age_seconds", "Age", &[], None);
        assert_eq!(
            m.render(),
            "# HELP voltwire_input_voltage_volts Pack voltage, V\n\
             # TYPE voltwire_input_voltage_volts gauge\n\
             voltwire_input_voltage_volts{input=\"bms1\"} 52.5\n\
             voltwire_input_voltage_volts{input=\"bms2\"} -0.25\n\
             # HELP voltwire_input_frames_total Frames\n\
             # TYPE voltwire_input_frames_total counter\n\
             voltwire_input_frames_total{input=\"a\\\"b\\\\c\\nd\"} 7\n"
        );
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn bad_names_duplicates_and_kinds_are_dropped() {
        let mut m = Metrics::new();
        m.gauge("1abc", "", &[], Some(1.0));
        m.gauge("a-b", "", &[], Some(1.0));
        m.counter("frames", "counter without _total", &[], 1);
        m.gauge("ok", "", &[("__reserved", "x")], Some(1.0));
        m.gauge("ok", "", &[("bad:label", "x")], Some(1.0));
        assert!(m.is_empty(), "{}", m.render());
        m.gauge("ok", "", &[("a", "1")], Some(1.0));
        m.gauge("ok", "", &[("a", "1")], Some(2.0));
        m.counter("ok", "", &[("a", "2")], 1);
        assert_eq!(m.len(), 1);
        let mut n = Metrics::new();
        n.gauge("x", "", &[], Some(f64::NAN));
        n.gauge("y", "", &[], Some(f64::INFINITY));
        assert_eq!(
            n.render(),
            "# HELP x \n# TYPE x gauge\nx NaN\n# HELP y \n# TYPE y gauge\ny +Inf\n"
        );
        m.extend(&n);
        assert_eq!(m.len(), 3);
    }
}
