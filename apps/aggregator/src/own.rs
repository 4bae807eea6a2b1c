//! The own charge algorithm's glue: the `voltwire_ess::aggregate` rules (coulomb counter,
//! per-month CVL, balancing days, feed-in control) on the wall clock, with their state kept
//! in one file (written to a temporary file, synced, then renamed over the old one, so a
//! power cut leaves the old or the new state, never half of one).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use voltwire_core::{MilliampHours, Millivolts};
use voltwire_ess::aggregate::Aggregate;
use voltwire_ess::aggregate::feed_in::FeedIn;
use voltwire_ess::aggregate::schedule::{Balancing, BalancingConfig, Day, own_cvl};
use voltwire_ess::aggregate::soc::{CoulombConfig, CoulombCounter, CoulombInput, Resync};
use voltwire_ess::{BatteryState, Millis, Mode};

/// The Venus settings service.
pub const SETTINGS_SERVICE: &str = "com.victronenergy.settings";
/// "Feed excess DC-coupled PV into the grid" (0 off, 1 on).
pub const FEED_IN_PATH: &str = "/Settings/CGwacs/OvervoltageFeedIn";

/// Seconds since 1970-01-01 UTC (injected in tests).
pub type WallClock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock as a [`WallClock`].
pub fn system_clock() -> WallClock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    })
}

/// The own algorithm's configuration (`[charge]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OwnConfig {
    /// The own coulomb counter and the bank's capacity (`None`: the installed capacity).
    pub coulomb: Option<(CoulombConfig, Option<MilliampHours>)>,
    /// Cell voltage per month, January first.
    pub month_table: Option<[Millivolts; 12]>,
    /// Balancing every N days.
    pub balancing: Option<BalancingConfig>,
    /// PV feed-in off while the dynamic CVL limits.
    pub feed_in: bool,
    /// Where the state is kept.
    pub state_file: Option<PathBuf>,
    /// The installation's UTC offset (s), for the day and the month.
    pub utc_offset_s: i32,
    /// Cells in series of one battery.
    pub cells: u16,
}

/// The state file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Persisted {
    /// The coulomb counter's charge (mAh).
    #[serde(default)]
    pub charge_mah: Option<i64>,
    /// The day balancing last completed, `YYYY-MM-DD`.
    #[serde(default)]
    pub last_balanced: Option<String>,
    /// The user's feed-in setting to restore.
    #[serde(default)]
    pub feed_in_saved: Option<i32>,
}

impl Persisted {
    fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut t = String::from(
            "# aggregator state (written by the aggregator; edit only while it is stopped)\n",
        );
        if let Some(c) = self.charge_mah {
            let _ = writeln!(t, "charge_mah = {c}");
        }
        if let Some(d) = &self.last_balanced {
            let _ = writeln!(t, "last_balanced = \"{d}\"");
        }
        if let Some(v) = self.feed_in_saved {
            let _ = writeln!(t, "feed_in_saved = {v}");
        }
        t
    }
}

/// `YYYY-MM-DD` of a day.
pub fn date_text(d: Day) -> String {
    let (y, m, dd) = d.civil();
    format!("{y:04}-{m:02}-{dd:02}")
}

/// The day of a `YYYY-MM-DD` text.
pub fn parse_date(s: &str) -> Option<Day> {
    let mut it = s.split('-');
    let y = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let d = it.next()?.parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    Day::from_civil(y, m, d)
}

/// Read the state file: absent → empty; unreadable or corrupt → empty with a warning (the
/// counter then starts from the batteries' SOC, balancing is due).
pub fn load_state(path: &Path) -> Persisted {
    match std::fs::read_to_string(path) {
        Ok(text) => match voltwire_runtime::config::parse::<Persisted>(&text, path) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("state file ignored: {e}");
                Persisted::default()
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Persisted::default(),
        Err(e) => {
            tracing::warn!("state file {} ignored: {e}", path.display());
            Persisted::default()
        }
    }
}

/// Write the state file atomically (temporary file, fsync, rename, fsync of the directory).
///
/// # Errors
/// The I/O error.
pub fn save_state(path: &Path, p: &Persisted) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(p.text().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// What the own algorithm adds to the published paths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OwnStatus {
    /// The balancing voltage applies.
    pub balancing: bool,
    /// The day balancing last completed.
    pub last_balanced: Option<Day>,
    /// The feed-in setting is held off by us.
    pub feed_in_off: bool,
}

/// The own algorithm's state.
pub struct Own {
    cfg: OwnConfig,
    clock: WallClock,
    counter: Option<CoulombCounter>,
    balancing: Option<Balancing>,
    feed_in: FeedIn,
    /// The feed-in setting as last read (`None`: unknown).
    pub feed_in_setting: Option<i32>,
    /// The value to write to the feed-in setting.
    pub feed_in_write: Option<i32>,
    capacity: MilliampHours,
    written: Persisted,
    status: OwnStatus,
}

impl std::fmt::Debug for Own {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Own")
            .field("cfg", &self.cfg)
            .field("counter", &self.counter)
            .field("balancing", &self.balancing)
            .field("feed_in", &self.feed_in)
            .finish_non_exhaustive()
    }
}

impl Own {
    /// The own algorithm for `cfg`, its state restored from the state file.
    pub fn new(cfg: OwnConfig, clock: WallClock) -> Self {
        let restored = cfg
            .state_file
            .as_deref()
            .map(load_state)
            .unwrap_or_default();
        let last = restored.last_balanced.as_deref().and_then(parse_date);
        if restored.last_balanced.is_some() && last.is_none() {
            tracing::warn!("state file: last_balanced is not a YYYY-MM-DD date; balancing is due");
        }
        let counter = cfg
            .coulomb
            .map(|(c, _)| CoulombCounter::new(c, restored.charge_mah.map(MilliampHours)));
        if let Some(c) = restored.charge_mah.filter(|_| counter.is_some()) {
            tracing::info!("own coulomb counter restored at {c} mAh");
        }
        Self {
            balancing: cfg.balancing.map(|b| Balancing::new(b, last)),
            feed_in: FeedIn::new(restored.feed_in_saved.filter(|_| cfg.feed_in)),
            counter,
            clock,
            feed_in_setting: None,
            feed_in_write: None,
            capacity: MilliampHours(0),
            written: restored,
            status: OwnStatus::default(),
            cfg,
        }
    }

    /// Whether the feed-in control is on.
    pub fn controls_feed_in(&self) -> bool {
        self.cfg.feed_in
    }

    /// Today in the installation's time zone.
    pub fn today(&self) -> Day {
        Day::from_unix((self.clock)(), self.cfg.utc_offset_s)
    }

    /// The own CVL and SOC on top of the aggregate (before the charge tables and the dynamic
    /// CVL). Nothing changes in the safe state but the counter's clock.
    pub fn apply<const N: usize>(
        &mut self,
        now: Millis,
        out: &mut Aggregate<N>,
        state: &mut BatteryState,
    ) -> OwnStatus {
        let live = out.mode != Mode::Safe;
        let (lo, hi) = (out.min_cell.map(|e| e.value), out.max_cell.map(|e| e.value));
        let today = self.today();
        let hold = match self.balancing.as_mut() {
            Some(b) if live => b.update(today, lo, hi),
            _ => false,
        };
        if live {
            let balancing = self.cfg.balancing.map(|b| b.voltage).filter(|_| hold);
            state.charge_voltage_limit = own_cvl(
                self.cfg.month_table.as_ref(),
                self.cfg.cells,
                today,
                balancing,
                state.charge_voltage_limit,
            );
        }
        if let Some((_, cap_cfg)) = self.cfg.coulomb {
            if live {
                self.capacity = cap_cfg.unwrap_or(self.capacity.max(out.installed_capacity));
            }
            if let Some(c) = self.counter.as_mut() {
                let input = CoulombInput {
                    now,
                    current: live.then_some(state.current),
                    capacity: self.capacity,
                    min_cell: lo.filter(|_| live),
                    max_cell: hi.filter(|_| live),
                    batteries_soc: live.then_some(state.soc),
                };
                let (soc, resync) = c.step(&input);
                match resync {
                    Some(Resync::Full) => tracing::info!("own SOC: full, set to 100 %"),
                    Some(Resync::Empty) => tracing::info!("own SOC: empty, set to 0 %"),
                    Some(Resync::FromBatteries) => {
                        tracing::info!("own SOC: started from the batteries' SOC");
                    }
                    None => {}
                }
                if let (Some(soc), Some(q)) = (soc, c.charge()) {
                    state.soc = soc;
                    out.capacity = Some(q);
                    out.consumed = Some(MilliampHours(self.capacity.0.saturating_sub(q.0)));
                    out.installed_capacity = self.capacity;
                }
            }
        }
        self.status.balancing = hold;
        self.status.last_balanced = self.balancing.and_then(|b| b.last_balanced());
        self.status
    }

    /// The feed-in control after the dynamic CVL: sets [`Self::feed_in_write`].
    pub fn feed_in(&mut self, limiting: bool) {
        if self.cfg.feed_in {
            self.feed_in_write = self.feed_in.update(limiting, self.feed_in_setting);
            self.status.feed_in_off = self.feed_in.saved().is_some();
        }
    }

    /// The status of the last step (after [`Self::feed_in`]).
    pub fn status(&self) -> OwnStatus {
        self.status
    }

    /// Persist what changed (the counter by its save step; `force`: the counter's exact
    /// value, as at a stop). A failure is logged and retried at the next step.
    pub fn persist(&mut self, force: bool) {
        let Some(path) = self.cfg.state_file.clone() else {
            return;
        };
        let mut next = self.written.clone();
        if let Some(c) = self.counter.as_ref() {
            if force || c.needs_save() {
                next.charge_mah = c.charge().map(|q| q.0);
            }
        }
        if let Some(b) = self.balancing {
            next.last_balanced = b.last_balanced().map(date_text);
        }
        if self.cfg.feed_in {
            next.feed_in_saved = self.feed_in.saved();
        }
        if next == self.written && !(force && self.counter.is_some()) {
            return;
        }
        match save_state(&path, &next) {
            Ok(()) => {
                self.written = next;
                if let Some(c) = self.counter.as_mut() {
                    c.saved();
                }
            }
            Err(e) => tracing::warn!("cannot write the state file {}: {e}", path.display()),
        }
    }

    /// The own coulomb counter's charge, if known.
    pub fn charge(&self) -> Option<MilliampHours> {
        self.counter.as_ref().and_then(CoulombCounter::charge)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_file_round_trip_and_corruption() {
        let dir = voltwire_testkit::scratch_dir("agg-own-state");
        let path = dir.join("state.toml");
        assert_eq!(load_state(&path), Persisted::default());
        let p = Persisted {
            charge_mah: Some(42_000),
            last_balanced: Some("2026-07-14".into()),
            feed_in_saved: Some(1),
        };
        save_state(&path, &p).unwrap();
        assert_eq!(load_state(&path), p);
        assert!(!path.with_extension("tmp").exists());
        std::fs::write(&path, "charge_mah = \"x\"\n").unwrap();
        assert_eq!(load_state(&path), Persisted::default());
        assert_eq!(
            parse_date("2026-07-14").map(date_text).as_deref(),
            Some("2026-07-14")
        );
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("2026-07-14-1"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
