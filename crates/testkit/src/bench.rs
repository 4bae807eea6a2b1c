//! Helpers for the apps' whole-process load benchmarks (`cargo bench -p <app> --bench load`):
//! command-line numbers and a child process's CPU time and peak RSS from `/proc` (Linux).

/// The number after `name` on the command line (`--seconds 60`), or `default` when the flag
/// is absent or its value is not a number.
#[must_use]
pub fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time and peak memory of a running process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStats {
    /// utime + stime in clock ticks (all threads).
    pub ticks: u64,
    /// Peak resident set size (`VmHWM`) in kB.
    pub peak_rss_kb: u64,
}

/// [`ProcStats`] of `pid`, read from `/proc/<pid>/stat` and `/proc/<pid>/status`.
///
/// # Panics
/// When the process is gone or `/proc` is not Linux's (the benchmark cannot measure then).
#[must_use]
pub fn proc_stats(pid: u32) -> ProcStats {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/stat: {e}"));
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    // After the name: state is field 0, utime field 11, stime field 12 (proc(5) 14 and 15).
    let tick = |i: usize| -> u64 {
        fields
            .get(i)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("/proc/{pid}/stat: no number in field {i}: {stat}"))
    };
    let ticks = tick(11) + tick(12);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    let peak_rss_kb = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    ProcStats { ticks, peak_rss_kb }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_a_peak_rss_and_counts_cpu() {
        let pid = std::process::id();
        let before = proc_stats(pid);
        // Touch 8 MB so the peak RSS is at least that, and spend some CPU.
        let v = vec![1u8; 8 << 20];
        let mut sum = 0u64;
        for _ in 0..20 {
            sum = v.iter().fold(sum, |s, b| s.wrapping_add(u64::from(*b)));
        }
        assert_eq!(sum, 20 * (8 << 20));
        let after = proc_stats(pid);
        assert!(after.peak_rss_kb >= 8 * 1024, "{after:?}");
        assert!(after.ticks >= before.ticks, "{before:?} {after:?}");
    }

    #[test]
    fn absent_flag_gives_the_default() {
        assert_eq!(arg("--no-such-flag-here", 42), 42);
    }
}
