//! The lifetime EEPROM write counter of a device, persisted atomically: written to a
//! temporary file beside it, synced, then renamed over it, so a power cut leaves the old or
//! the new count, never a torn file.

use std::io::Write as _;
use std::path::Path;

/// Reads the count; a missing file is 0 (a new device).
///
/// # Errors
/// A message naming the file when it cannot be read or does not hold a count.
pub fn load(path: &Path) -> Result<u64, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.trim().parse().map_err(|_| {
            format!(
                "{}: not an EEPROM write count (a whole number); fix: restore it or write the last known count",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes the count atomically.
///
/// # Errors
/// The I/O error.
pub fn save(path: &Path, count: u64) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp)?;
        writeln!(f, "{count}")?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_missing_and_corrupt() {
        let dir = std::env::temp_dir().join(format!("zfi-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bic0.writes");
        let _ = std::fs::remove_file(&p);
        assert_eq!(load(&p), Ok(0));
        save(&p, 41).unwrap();
        save(&p, 42).unwrap();
        assert_eq!(load(&p), Ok(42));
        assert!(!dir.join("bic0.writes.tmp").exists(), "renamed away");
        std::fs::write(&p, "forty").unwrap();
        assert!(load(&p).unwrap_err().contains("bic0.writes"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
