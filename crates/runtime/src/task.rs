//! Supervised long-running tasks: none dies unseen.
//!
//! A tokio task that returns or panics is gone without a word unless someone awaits its
//! handle. A [`Supervisor`] owns an app's long-running tasks, each with a name and a
//! [`Policy`]: on its end (a return, an error, a panic) the task is either started again
//! after a backoff ([`Policy::Restart`]), or the supervisor's [`Supervisor::run`] /
//! [`Supervisor::run_until`] returns a [`TaskError`] naming the task and the reason, so the
//! app exits non-zero with that message.
//!
//! ```no_run
//! use std::time::Duration;
//! use voltwire_runtime::task::{Policy, Supervisor};
//!
//! # async fn poll_bus(_: &str) -> Result<(), std::io::Error> { Ok(()) }
//! # async fn serve_http() -> std::io::Result<()> { Ok(()) }
//! // `stop`: e.g. `async { let _ = tokio::signal::ctrl_c().await; }`
//! async fn app(stop: impl Future<Output = ()>) -> std::process::ExitCode {
//!     let mut tasks = Supervisor::new();
//!     for bus in ["in0", "in1"] {
//!         // Started again (100 ms, 200 ms, … up to 10 s apart) each time it ends or panics.
//!         tasks.spawn(format!("bus {bus}"), Policy::restart_default(), move || poll_bus(bus));
//!     }
//!     // Runs once; any end is fatal.
//!     tasks.spawn_once("http server", serve_http());
//!     match tasks.run_until(stop).await {
//!         Ok(()) => std::process::ExitCode::SUCCESS, // stopped by the signal
//!         Err(e) => {
//!             eprintln!("app: {e}"); // e.g. "task `http server` failed: address in use"
//!             std::process::ExitCode::FAILURE
//!         }
//!     }
//! }
//! ```
//!
//! Tasks run on the ambient tokio runtime (`tokio::spawn`); dropping the supervisor (or the
//! future of `run`/`run_until`) aborts every task it owns.

use core::fmt;
use core::future::Future;
use core::time::Duration;
use std::any::Any;

use tokio::task::{JoinHandle, JoinSet};

use crate::link::Backoff;

/// What happens when a supervised task ends.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Policy {
    /// Start it again after the backoff's next delay, however it ended; the backoff starts
    /// over once a run lasted at least `reset_after`. Each restart is logged (warn).
    Restart {
        /// Delays between restarts.
        backoff: Backoff,
        /// A run at least this long counts as healthy: the next delay is the initial one.
        reset_after: Duration,
    },
    /// Any end (a return, an error, a panic) ends the supervisor with a [`TaskError`].
    Fatal,
    /// A return without error is fine (the task is done); an error or a panic is fatal.
    MayFinish,
}

impl Policy {
    /// [`Policy::Restart`] with `backoff`, reset after a run of at least 60 s.
    pub const fn restart(backoff: Backoff) -> Self {
        Self::Restart {
            backoff,
            reset_after: Duration::from_secs(60),
        }
    }

    /// [`Policy::Restart`] with the default backoff (100 ms doubling to 10 s, jittered).
    pub fn restart_default() -> Self {
        Self::restart(Backoff::default())
    }
}

/// What a task's future may return: `()` or `Result<(), E>` with a displayable error.
pub trait TaskOutput: Send + 'static {
    /// `Err(reason)` when the task failed.
    ///
    /// # Errors
    /// The error's text when the task returned an error.
    fn into_result(self) -> Result<(), String>;
}

impl TaskOutput for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: fmt::Display + Send + 'static> TaskOutput for Result<(), E> {
    fn into_result(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskEnd {
    /// It returned without error, though it should have run until the app stops.
    Returned,
    /// It returned an error (its text).
    Failed(String),
    /// It panicked (the panic message, when it was a string).
    Panicked(String),
    /// It was cancelled from outside the supervisor.
    Cancelled,
}

impl fmt::Display for TaskEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Returned => f.write_str("ended (it should run until the program stops)"),
            Self::Failed(e) => write!(f, "failed: {e}"),
            Self::Panicked(m) => write!(f, "panicked: {m}"),
            Self::Cancelled => f.write_str("was cancelled"),
        }
    }
}

/// A supervised task ended in a way its policy does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("task `{name}` {end}")]
pub struct TaskError {
    /// The task's name.
    pub name: String,
    /// How it ended.
    pub end: TaskEnd,
}

/// Owns named long-running tasks and watches how they end (see the [module](self) docs).
#[derive(Debug, Default)]
pub struct Supervisor {
    set: JoinSet<Result<(), TaskError>>,
}

/// Aborts the task when dropped, so an aborted supervisor leaves nothing running.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `fut` as a task of its own (so a panic is caught) and reports how it ended.
async fn run_once<Fut>(fut: Fut) -> TaskEnd
where
    Fut: Future + Send + 'static,
    Fut::Output: TaskOutput,
{
    let mut handle = AbortOnDrop(tokio::spawn(fut));
    match (&mut handle.0).await {
        Ok(out) => match out.into_result() {
            Ok(()) => TaskEnd::Returned,
            Err(e) => TaskEnd::Failed(e),
        },
        Err(e) if e.is_panic() => TaskEnd::Panicked(panic_message(e.into_panic().as_ref())),
        Err(_) => TaskEnd::Cancelled,
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_owned())
}

impl Supervisor {
    /// No tasks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many tasks it supervises (finished ones included until `run` collects them).
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether it supervises no task.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Starts `factory()` as task `name` now, and again each time it ends when `policy` says
    /// so. Must be called within a tokio runtime.
    pub fn spawn<F, Fut>(&mut self, name: impl Into<String>, policy: Policy, mut factory: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutput,
    {
        let name = name.into();
        self.set.spawn(async move {
            let (mut backoff, reset_after) = match &policy {
                Policy::Restart {
                    backoff,
                    reset_after,
                } => (Some(backoff.clone()), *reset_after),
                Policy::Fatal | Policy::MayFinish => (None, Duration::ZERO),
            };
            loop {
                let started = tokio::time::Instant::now();
                let end = run_once(factory()).await;
                match (&policy, &end) {
                    (Policy::MayFinish, TaskEnd::Returned) => return Ok(()),
                    (Policy::Restart { .. }, _) => {}
                    _ => return Err(TaskError { name, end }),
                }
                let Some(b) = backoff.as_mut() else {
                    return Err(TaskError { name, end });
                };
                if started.elapsed() >= reset_after {
                    b.reset();
                }
                let delay = b.next_delay();
                tracing::warn!(
                    task = %name,
                    restart = b.attempt(),
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "task {end}; restarting"
                );
                tokio::time::sleep(delay).await;
            }
        });
    }

    /// Runs `fut` as task `name`, once: any end of it (a return, an error, a panic) is
    /// fatal. For work that owns what cannot be made again (a bound listener, a receiver).
    pub fn spawn_once<Fut>(&mut self, name: impl Into<String>, fut: Fut)
    where
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutput,
    {
        let name = name.into();
        self.set.spawn(async move {
            let end = run_once(fut).await;
            Err(TaskError { name, end })
        });
    }

    /// Waits until every task has finished (only [`Policy::MayFinish`] tasks can), or the
    /// first task that ends in a way its policy does not accept; the other tasks are then
    /// aborted.
    ///
    /// # Errors
    /// The [`TaskError`] of the first task that failed.
    pub async fn run(mut self) -> Result<(), TaskError> {
        while let Some(r) = self.set.join_next().await {
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(task = %e.name, "{e}");
                    return Err(e);
                }
                Err(e) => {
                    return Err(TaskError {
                        name: "(supervisor)".to_owned(),
                        end: if e.is_panic() {
                            TaskEnd::Panicked(panic_message(e.into_panic().as_ref()))
                        } else {
                            TaskEnd::Cancelled
                        },
                    });
                }
            }
        }
        Ok(())
    }

    /// Like [`Supervisor::run`], but returns `Ok(())` as soon as `stop` completes (a signal,
    /// a deadline); every task is then aborted. Tasks that all finish leave it waiting for
    /// `stop`.
    ///
    /// # Errors
    /// The [`TaskError`] of the first task that failed before `stop`.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> Result<(), TaskError> {
        let run = async {
            self.run().await?;
            core::future::pending::<Result<(), TaskError>>().await
        };
        tokio::select! {
            r = run => r,
            () = stop => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::panic,
        clippy::manual_assert,
        reason = "test code: tasks that panic on purpose"
    )]

    use std::sync::Arc;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    use tokio::time::Instant;

    use super::*;

    fn no_jitter(initial_ms: u64, max_ms: u64) -> Backoff {
        Backoff::new(
            Duration::from_millis(initial_ms),
            Duration::from_millis(max_ms),
            0,
            1,
        )
    }

    /// A task that panics on its first three runs is started again each time, 100, 200 and
    /// 400 ms (virtual time) after the end before; the fourth run lives on.
    #[tokio::test(start_paused = true)]
    async fn panicking_task_is_restarted_with_backoff() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&starts);
        let t0 = Instant::now();
        let mut sup = Supervisor::new();
        sup.spawn("flaky", Policy::restart(no_jitter(100, 1000)), move || {
            let s = Arc::clone(&s);
            async move {
                let n = {
                    let mut v = s.lock().unwrap();
                    v.push(t0.elapsed());
                    v.len()
                };
                if n <= 3 {
                    panic!("run {n} breaks");
                }
                core::future::pending::<()>().await;
            }
        });
        let r = sup
            .run_until(tokio::time::sleep(Duration::from_secs(5)))
            .await;
        assert_eq!(r, Ok(()));
        let ms: Vec<u128> = starts
            .lock()
            .unwrap()
            .iter()
            .map(Duration::as_millis)
            .collect();
        assert_eq!(ms, [0, 100, 300, 700]);
    }

    /// A task that keeps returning errors is restarted; a long healthy run resets the delay.
    #[tokio::test(start_paused = true)]
    async fn backoff_resets_after_a_healthy_run() {
        let runs = Arc::new(AtomicU32::new(0));
        let starts = Arc::new(Mutex::new(Vec::new()));
        let (r2, s2) = (Arc::clone(&runs), Arc::clone(&starts));
        let t0 = Instant::now();
        let mut sup = Supervisor::new();
        sup.spawn(
            "reader",
            Policy::Restart {
                backoff: no_jitter(100, 1000),
                reset_after: Duration::from_secs(10),
            },
            move || {
                let n = r2.fetch_add(1, Ordering::SeqCst);
                s2.lock().unwrap().push(t0.elapsed().as_millis());
                async move {
                    // Runs 0 and 1 fail at once; run 2 is healthy for 20 s, then fails.
                    if n == 2 {
                        tokio::time::sleep(Duration::from_secs(20)).await;
                    }
                    if n >= 3 {
                        core::future::pending::<()>().await;
                    }
                    Err::<(), _>(format!("read error {n}"))
                }
            },
        );
        let r = sup
            .run_until(tokio::time::sleep(Duration::from_secs(60)))
            .await;
        assert_eq!(r, Ok(()));
        // 0, +100 ms, +200 ms; then 20 s healthy: the next delay is 100 ms again.
        assert_eq!(*starts.lock().unwrap(), [0, 100, 300, 20_400]);
    }

    /// A fatal task's error ends `run` with the task's name and reason; the others are
    /// aborted.
    #[tokio::test(start_paused = true)]
    async fn fatal_task_error_ends_the_supervisor() {
        struct Flag(Arc<AtomicU32>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(1, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicU32::new(0));
        let d = Arc::clone(&dropped);
        let mut sup = Supervisor::new();
        sup.spawn_once("bystander", async move {
            let _flag = Flag(d);
            core::future::pending::<()>().await;
        });
        sup.spawn("bus in1", Policy::Fatal, || async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err::<(), _>("device vanished")
        });
        let e = sup.run().await.unwrap_err();
        assert_eq!(e.name, "bus in1");
        assert_eq!(e.end, TaskEnd::Failed("device vanished".into()));
        assert_eq!(e.to_string(), "task `bus in1` failed: device vanished");
        tokio::task::yield_now().await;
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            1,
            "the other task was aborted"
        );
    }

    /// A fatal task that panics, or merely returns, is an error too.
    #[tokio::test]
    async fn fatal_task_panic_or_return_is_an_error() {
        let mut sup = Supervisor::new();
        sup.spawn_once("decoder", async {
            if u8::MAX > 1 {
                panic!("index out of bounds");
            }
        });
        let e = sup.run().await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "task `decoder` panicked: index out of bounds"
        );

        let mut sup = Supervisor::new();
        sup.spawn("ticker", Policy::Fatal, || async {});
        let e = sup.run().await.unwrap_err();
        assert_eq!(e.end, TaskEnd::Returned);
        assert!(e.to_string().starts_with("task `ticker` ended"), "{e}");
    }

    /// `MayFinish` tasks may return; `run` ends when all have. `run_until` waits for `stop`.
    #[tokio::test(start_paused = true)]
    async fn may_finish_and_run_until() {
        let mut sup = Supervisor::new();
        sup.spawn("job a", Policy::MayFinish, || async {});
        sup.spawn("job b", Policy::MayFinish, || async {
            Ok::<(), String>(())
        });
        assert_eq!(sup.len(), 2);
        assert_eq!(sup.run().await, Ok(()));

        let mut sup = Supervisor::new();
        sup.spawn("job", Policy::MayFinish, || async {
            Err::<(), _>("disk full")
        });
        let r = sup.run_until(core::future::pending()).await;
        assert_eq!(r.unwrap_err().end, TaskEnd::Failed("disk full".into()));

        let sup = Supervisor::new();
        let t0 = Instant::now();
        let r = sup
            .run_until(tokio::time::sleep(Duration::from_secs(3)))
            .await;
        assert_eq!((r, t0.elapsed().as_secs()), (Ok(()), 3));
    }
}
