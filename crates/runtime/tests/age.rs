//! Data age: stamps, freshness, the shared "safe state on stale data" helper.
#![allow(clippy::unwrap_used, clippy::std_instead_of_core, reason = "test code")]

use std::time::{Duration, Instant};

use voltwire_runtime::age::{Freshness, Latest, Stamped, all_fresh};

const S: Duration = Duration::from_secs(1);

#[test]
fn stamped_age_and_freshness() {
    let t0 = Instant::now();
    let v = Stamped::new(52_100_i32, t0);
    assert_eq!(v.age(t0 + 3 * S), 3 * S);
    assert!(v.is_fresh(t0 + 5 * S, 5 * S), "exactly max_age is fresh");
    assert!(!v.is_fresh(t0 + 5 * S + Duration::from_nanos(1), 5 * S));
    assert_eq!(v.fresh(t0 + S, 5 * S), Some(&52_100));
    assert_eq!(v.fresh(t0 + 6 * S, 5 * S), None);
    // A stamp from the "future" is age zero, not a panic.
    let later = Stamped::new(1, t0 + 10 * S);
    assert_eq!(later.age(t0), Duration::ZERO);
    assert_eq!(v.map(|mv| mv / 1000).value, 52);
    assert!(all_fresh([&v, &Stamped::new(0, t0 + S)], t0 + 2 * S, 5 * S));
    assert!(!all_fresh(
        [&v, &Stamped::new(0, t0 + S)],
        t0 + 6 * S,
        5 * S
    ));
}

#[test]
fn latest_gives_safe_state_when_stale() {
    let t0 = Instant::now();
    let mut charge_limit_ma = Latest::new(10 * S);
    assert_eq!(charge_limit_ma.get(t0), Freshness::Missing);
    assert_eq!(charge_limit_ma.value_or(t0, 0), 0);
    assert!(charge_limit_ma.update(50_000, t0));
    assert_eq!(charge_limit_ma.get(t0 + 9 * S), Freshness::Fresh(&50_000));
    assert_eq!(charge_limit_ma.value_or(t0 + 9 * S, 0), 50_000);
    assert_eq!(
        charge_limit_ma.get(t0 + 12 * S),
        Freshness::Stale {
            last: &50_000,
            age: 12 * S
        }
    );
    assert_eq!(charge_limit_ma.value_or(t0 + 12 * S, 0), 0);
    // A late reply carrying an older measurement does not replace a newer one.
    assert!(charge_limit_ma.update(60_000, t0 + 20 * S));
    assert!(!charge_limit_ma.update(10_000, t0 + 15 * S));
    assert_eq!(charge_limit_ma.fresh(t0 + 21 * S), Some(&60_000));
    charge_limit_ma.clear();
    assert!(!charge_limit_ma.get(t0 + 21 * S).is_fresh());
}
