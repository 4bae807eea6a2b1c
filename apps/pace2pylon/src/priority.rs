//! Inverter priority switching by Modbus writes (`[priority]`): while the rebalance is
//! granted grid charging (step 2 inside a tariff window, the snapshot's `grid_charge`) the
//! configured holding registers get their `grid_charge` values, otherwise their `normal`
//! values — the reference drives a Vevor inverter's charger and output priorities this way.
//!
//! A register is written only when the wanted priority differs from the one known to be in
//! the inverter: at start (and after a failed write) the registers are read back first, so a
//! restart writes nothing when the inverter already holds the right values (their EEPROM is
//! not worn by restarts). A failed write is retried after `retry_s`, doubling up to
//! `retry_max_s` ([`Switch`], pure, on injected time); a lost link reconnects with backoff.
//! Modbus RTU over any link (`serial://`, a console server's `tcp://`) or Modbus TCP.

use std::time::Duration;

use tokio::sync::watch;
use tokio_modbus::client::{Context, Reader as _, Writer as _};
use tokio_modbus::slave::Slave;
use voltwire_runtime::link::{Backoff, LinkUrl, Reconnect};

use crate::engine::{Clock, Snapshot};

/// Which set of values the inverter should hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Normal operation (the `normal` values).
    Normal,
    /// Charging from the grid granted (the `grid_charge` values).
    GridCharge,
}

impl Priority {
    /// Its name in logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::GridCharge => "grid_charge",
        }
    }

    /// The priority a snapshot asks for.
    pub fn wanted(snap: &Snapshot) -> Self {
        if snap.grid_charge {
            Self::GridCharge
        } else {
            Self::Normal
        }
    }
}

/// One holding register and its value per priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Register {
    /// Register address (written with function 0x06).
    pub register: u16,
    /// Value for [`Priority::Normal`].
    pub normal: u16,
    /// Value for [`Priority::GridCharge`].
    pub grid_charge: u16,
}

impl Register {
    /// Its value for `p`.
    pub fn value(&self, p: Priority) -> u16 {
        match p {
            Priority::Normal => self.normal,
            Priority::GridCharge => self.grid_charge,
        }
    }
}

/// Modbus framing on the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Modbus RTU (CRC frames) over a serial port or a console server's TCP port.
    Rtu,
    /// Modbus TCP (MBAP header), `tcp://host:502`.
    Tcp,
}

/// The validated `[priority]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityLink {
    /// Link.
    pub url: LinkUrl,
    /// Framing.
    pub transport: Transport,
    /// Slave address / unit id.
    pub address: u8,
    /// The registers, written in this order.
    pub registers: Vec<Register>,
    /// Reply timeout.
    pub timeout: Duration,
    /// First retry delay after a failed write, ms.
    pub retry_ms: u64,
    /// Longest retry delay, ms.
    pub retry_max_ms: u64,
}

/// When to write, on injected time (ms): only when the wanted priority is not the one known
/// to be in the inverter, and after a failure not before its retry time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switch {
    known: Option<Priority>,
    failures: u32,
    retry_at: Option<u64>,
    retry_ms: u64,
    retry_max_ms: u64,
}

impl Switch {
    /// Nothing known; retries after `retry_ms`, doubling up to `retry_max_ms`.
    pub fn new(retry_ms: u64, retry_max_ms: u64) -> Self {
        Self {
            known: None,
            failures: 0,
            retry_at: None,
            retry_ms,
            retry_max_ms,
        }
    }

    /// The priority known to be in the inverter.
    pub fn known(&self) -> Option<Priority> {
        self.known
    }

    /// What a read-back found (`None`: values of neither priority, or unreadable).
    pub fn read_back(&mut self, found: Option<Priority>) {
        self.known = found;
    }

    /// Whether `want` must be written at `now`.
    pub fn due(&self, want: Priority, now: u64) -> bool {
        self.known != Some(want) && self.retry_at.is_none_or(|t| now >= t)
    }

    /// All registers of `p` were written.
    pub fn succeeded(&mut self, p: Priority) {
        self.known = Some(p);
        self.failures = 0;
        self.retry_at = None;
    }

    /// A write failed at `now`: what the inverter holds is unknown; the next try is after
    /// `retry_ms · 2^(failures − 1)`, at most `retry_max_ms`. Returns that delay.
    pub fn failed(&mut self, now: u64) -> u64 {
        self.known = None;
        self.failures = self.failures.saturating_add(1);
        let shift = self.failures.saturating_sub(1).min(32);
        let delay = self
            .retry_ms
            .saturating_mul(1u64 << shift)
            .min(self.retry_max_ms);
        self.retry_at = Some(now.saturating_add(delay));
        delay
    }

    /// When the next try may be (after a failure).
    pub fn retry_at(&self) -> Option<u64> {
        self.retry_at
    }
}

/// Why an exchange failed: the link (reconnect) or the device (retry later).
#[derive(Debug)]
enum Failure {
    Link(String),
    Device(String),
}

async fn exchange<T>(
    timeout: Duration,
    fut: impl Future<Output = tokio_modbus::Result<T>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(timeout, fut).await {
        Err(_) => Err(Failure::Device("timeout".into())),
        Ok(Err(e)) => Err(Failure::Link(e.to_string())),
        Ok(Ok(Err(code))) => Err(Failure::Device(format!("exception {code:?}"))),
        Ok(Ok(Ok(v))) => Ok(v),
    }
}

/// Read every register back: the priority whose values they all hold, if any.
async fn read_back(p: &PriorityLink, ctx: &mut Context) -> Result<Option<Priority>, Failure> {
    let mut values = Vec::with_capacity(p.registers.len());
    for r in &p.registers {
        let got = exchange(p.timeout, ctx.read_holding_registers(r.register, 1)).await?;
        values.push(got.first().copied());
    }
    Ok([Priority::Normal, Priority::GridCharge]
        .into_iter()
        .find(|pr| {
            p.registers
                .iter()
                .zip(&values)
                .all(|(r, v)| *v == Some(r.value(*pr)))
        }))
}

/// Write every register of `want`, in order.
async fn write(p: &PriorityLink, ctx: &mut Context, want: Priority) -> Result<(), Failure> {
    for r in &p.registers {
        exchange(
            p.timeout,
            ctx.write_single_register(r.register, r.value(want)),
        )
        .await?;
    }
    Ok(())
}

/// Keep the inverter at the priority the snapshots ask for, forever (reconnecting); `known`
/// gets the priority known to be in the inverter after every read-back and write. Returns
/// only when the engine is gone.
///
/// # Errors
/// The engine's snapshot channel closed.
pub async fn run(
    p: PriorityLink,
    mut snapshots: watch::Receiver<Snapshot>,
    clock: Clock,
    known: watch::Sender<Option<Priority>>,
) -> std::io::Result<()> {
    let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10), 200, 31);
    let mut reconnect = Reconnect::new(p.url.clone(), backoff);
    let mut switch = Switch::new(p.retry_ms, p.retry_max_ms);
    loop {
        let Ok(link) = reconnect.connect(None).await else {
            continue;
        };
        tracing::info!(url = %p.url, "inverter priority link open");
        let mut ctx = match p.transport {
            Transport::Rtu => tokio_modbus::client::rtu::attach_slave(link, Slave(p.address)),
            Transport::Tcp => tokio_modbus::client::tcp::attach_slave(link, Slave(p.address)),
        };
        let err = loop {
            if switch.known().is_none() && switch.retry_at().is_none() {
                match read_back(&p, &mut ctx).await {
                    Ok(found) => {
                        switch.read_back(found);
                        known.send_replace(found);
                    }
                    Err(Failure::Link(e)) => break e,
                    Err(Failure::Device(e)) => {
                        tracing::debug!(error = %e, "inverter priority registers not read back");
                        switch.read_back(None);
                    }
                }
            }
            let want = Priority::wanted(&snapshots.borrow_and_update());
            let now = clock.now().0;
            if switch.due(want, now) {
                match write(&p, &mut ctx, want).await {
                    Ok(()) => {
                        tracing::info!(priority = want.name(), "inverter priority written");
                        switch.succeeded(want);
                        known.send_replace(Some(want));
                    }
                    Err(f) => {
                        let delay = switch.failed(clock.now().0);
                        known.send_replace(None);
                        match f {
                            Failure::Link(e) => break e,
                            Failure::Device(e) => tracing::warn!(
                                priority = want.name(),
                                error = %e,
                                retry_in_ms = delay,
                                "inverter priority not written"
                            ),
                        }
                    }
                }
            }
            let pause = switch
                .retry_at()
                .map_or(Duration::from_secs(1), |t| {
                    Duration::from_millis(t.saturating_sub(clock.now().0).max(1))
                })
                .min(Duration::from_secs(1));
            tokio::select! {
                r = snapshots.changed() => if r.is_err() {
                    return Err(std::io::Error::other("inverter priority: the engine is gone"));
                },
                () = tokio::time::sleep(pause) => {}
            }
        };
        tracing::warn!(url = %p.url, error = %err, "inverter priority link lost, reconnecting");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_on_change_and_retries_with_a_doubling_delay() {
        let mut s = Switch::new(2_000, 60_000);
        // Nothing known: due at once, whatever is wanted.
        assert!(s.due(Priority::Normal, 0));
        // A read-back finding the normal values: nothing to write for normal.
        s.read_back(Some(Priority::Normal));
        assert!(!s.due(Priority::Normal, 0));
        assert!(s.due(Priority::GridCharge, 0));
        s.succeeded(Priority::GridCharge);
        assert!(!s.due(Priority::GridCharge, 10));
        // A failure: 2 s, 4 s, 8 s … up to 60 s; never before its time.
        assert_eq!(s.failed(1_000), 2_000);
        assert_eq!(s.known(), None);
        assert!(!s.due(Priority::Normal, 2_999));
        assert!(s.due(Priority::Normal, 3_000));
        assert_eq!(s.failed(3_000), 4_000);
        assert_eq!(s.failed(7_000), 8_000);
        for _ in 0..10 {
            s.failed(0);
        }
        assert_eq!(s.failed(0), 60_000);
        assert_eq!(s.retry_at(), Some(60_000));
        // Success resets the delay.
        s.succeeded(Priority::Normal);
        assert_eq!(s.retry_at(), None);
        assert_eq!(s.failed(100), 2_000);
        // Far past any shift: no overflow.
        for _ in 0..100 {
            s.failed(u64::MAX);
        }
        assert_eq!(s.retry_at(), Some(u64::MAX));
    }
}
