//! A half-duplex poller: one request on the bus at a time, one matching response back.
//!
//! Per request the [`Poller`] waits out the inter-frame gap since the bus was last busy,
//! writes the request, drops exactly the echoed request bytes (RS485 adapters that hear
//! themselves), feeds the rest to the protocol's [`StreamDecoder`] and returns the first
//! item the caller's predicate accepts (others, e.g. a late reply to an earlier request, are
//! dropped and counted). Each attempt has a timeout; failed attempts are retried.
//!
//! Many addresses on one bus: [`Poller::poll_each`] visits them round robin; an address that
//! did not answer in the previous cycle gets a single attempt (no retries), so a missing
//! device costs one timeout per cycle and never stalls the others. Ports are polled in
//! parallel by giving each its own `Poller` in its own task.

use std::collections::HashSet;
use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::time::Instant;
use voltwire_core::StreamDecoder;

/// Poller timing and behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollConfig {
    /// How long one attempt waits for a matching response.
    pub timeout: Duration,
    /// Further attempts after the first times out.
    pub retries: u32,
    /// Quiet time on the bus between the end of one exchange and the next request.
    pub gap: Duration,
    /// Drop our own request when the adapter echoes it back.
    pub echo: bool,
}

impl Default for PollConfig {
    /// 500 ms timeout, 2 retries, 50 ms gap, no echo.
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(500),
            retries: 2,
            gap: Duration::from_millis(50),
            echo: false,
        }
    }
}

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PollError {
    /// No matching response within the timeout, in any attempt.
    #[error("no response after {attempts} attempt(s)")]
    Timeout {
        /// Attempts made.
        attempts: u32,
    },
    /// The link ended (end of file): reconnect.
    #[error("link closed")]
    Closed,
    /// The link failed: reconnect.
    #[error("link I/O error: {0}")]
    Io(#[from] io::Error),
}

impl PollError {
    /// Whether the link itself is gone (as opposed to a device not answering).
    pub const fn is_link_error(&self) -> bool {
        matches!(self, Self::Closed | Self::Io(_))
    }
}

/// Counters since the poller was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollStats {
    /// Requests written (every attempt).
    pub sent: u64,
    /// Matching responses.
    pub answered: u64,
    /// Attempts that timed out.
    pub timeouts: u64,
    /// Decoded items the predicate rejected.
    pub mismatched: u64,
    /// Echo bytes dropped.
    pub echo_bytes: u64,
}

/// A half-duplex poller over one link `L` driving decoder `D`.
#[derive(Debug)]
pub struct Poller<L, D> {
    link: L,
    decoder: D,
    config: PollConfig,
    idle_since: Option<Instant>,
    stats: PollStats,
    missing: HashSet<Vec<u8>>,
}

impl<L, D> Poller<L, D>
where
    L: AsyncRead + AsyncWrite + Unpin,
    D: StreamDecoder,
{
    /// A poller on `link`, decoding responses with `decoder`.
    pub fn new(link: L, decoder: D, config: PollConfig) -> Self {
        Self {
            link,
            decoder,
            config,
            idle_since: None,
            stats: PollStats::default(),
            missing: HashSet::new(),
        }
    }

    /// Counters.
    pub const fn stats(&self) -> PollStats {
        self.stats
    }

    /// The decoder (e.g. for `dropped_bytes`).
    pub const fn decoder(&self) -> &D {
        &self.decoder
    }

    /// The configuration.
    pub const fn config(&self) -> &PollConfig {
        &self.config
    }

    /// Give the link back (e.g. to close it).
    pub fn into_link(self) -> L {
        self.link
    }

    /// Send `request` and return the first decoded item `matches` accepts, retrying on
    /// timeout.
    ///
    /// # Errors
    /// [`PollError::Timeout`] when every attempt timed out; [`PollError::Closed`] or
    /// [`PollError::Io`] when the link failed (not retried: reconnect instead).
    pub async fn request(
        &mut self,
        request: &[u8],
        matches: impl FnMut(&D::Item) -> bool,
    ) -> Result<D::Item, PollError> {
        let attempts = self.config.retries.saturating_add(1);
        self.request_attempts(request, attempts, matches).await
    }

    async fn request_attempts(
        &mut self,
        request: &[u8],
        attempts: u32,
        mut matches: impl FnMut(&D::Item) -> bool,
    ) -> Result<D::Item, PollError> {
        for attempt in 1..=attempts {
            match self.attempt(request, &mut matches).await {
                Ok(Some(item)) => return Ok(item),
                Ok(None) => {
                    self.stats.timeouts += 1;
                    tracing::debug!(attempt, attempts, "poll timeout");
                }
                Err(e) => return Err(e),
            }
        }
        Err(PollError::Timeout { attempts })
    }

    /// One attempt: `Ok(None)` on timeout.
    async fn attempt(
        &mut self,
        request: &[u8],
        matches: &mut impl FnMut(&D::Item) -> bool,
    ) -> Result<Option<D::Item>, PollError> {
        if let Some(idle) = self.idle_since {
            tokio::time::sleep_until(idle + self.config.gap).await;
        }
        self.link.write_all(request).await?;
        self.link.flush().await?;
        self.stats.sent += 1;
        let deadline = Instant::now() + self.config.timeout;
        let mut echo = Echo::new(if self.config.echo { request } else { &[] });
        let mut buf = [0_u8; 512];
        let result = loop {
            let read = tokio::time::timeout_at(deadline, self.link.read(&mut buf)).await;
            let n = match read {
                Err(_) => break Ok(None),
                Ok(Err(e)) => break Err(PollError::Io(e)),
                Ok(Ok(0)) => break Err(PollError::Closed),
                Ok(Ok(n)) => n,
            };
            let chunk = buf.get(..n).unwrap_or_default();
            let (held, rest) = echo.filter(chunk);
            self.stats.echo_bytes = self.stats.echo_bytes.saturating_add(echo.dropped());
            if let Some(item) = self
                .feed(&held, matches)
                .or_else(|| self.feed(rest, matches))
            {
                break Ok(Some(item));
            }
        };
        self.idle_since = Some(Instant::now());
        result
    }

    fn feed(
        &mut self,
        mut input: &[u8],
        matches: &mut impl FnMut(&D::Item) -> bool,
    ) -> Option<D::Item> {
        loop {
            let p = self.decoder.feed(input);
            input = input.get(p.consumed..).unwrap_or_default();
            match p.item {
                Some(item) if matches(&item.value) => {
                    self.stats.answered += 1;
                    // Anything after the response in this read is discarded: half duplex.
                    return Some(item.value);
                }
                Some(_) => self.stats.mismatched += 1,
                None if input.is_empty() || p.consumed == 0 => return None,
                None => {}
            }
        }
    }

    /// Poll every address once, in order. `request` builds the bytes for an address,
    /// `matches` checks a decoded item belongs to it. An address that did not answer last
    /// time (keyed by its request bytes) gets one attempt instead of `1 + retries`.
    pub async fn poll_each<A: Clone>(
        &mut self,
        addresses: &[A],
        mut request: impl FnMut(&A) -> Vec<u8>,
        mut matches: impl FnMut(&A, &D::Item) -> bool,
    ) -> Vec<(A, Result<D::Item, PollError>)> {
        let mut out = Vec::with_capacity(addresses.len());
        for a in addresses {
            let req = request(a);
            let attempts = if self.missing.contains(&req) {
                1
            } else {
                self.config.retries.saturating_add(1)
            };
            let r = self
                .request_attempts(&req, attempts, |item| matches(a, item))
                .await;
            match &r {
                Ok(_) => {
                    self.missing.remove(&req);
                }
                Err(PollError::Timeout { .. }) => {
                    self.missing.insert(req);
                }
                Err(_) => {}
            }
            let link_gone = r.as_ref().is_err_and(PollError::is_link_error);
            out.push((a.clone(), r));
            if link_gone {
                break;
            }
        }
        out
    }
}

/// Echo suppression state for one request: drops exactly the bytes that repeat the request
/// from its start; bytes that only look like a prefix are given back if the echo breaks off.
#[derive(Debug)]
struct Echo<'a> {
    expect: &'a [u8],
    matched: usize,
    done: bool,
    dropped_now: u64,
}

impl<'a> Echo<'a> {
    const fn new(expect: &'a [u8]) -> Self {
        Self {
            expect,
            matched: 0,
            done: expect.is_empty(),
            dropped_now: 0,
        }
    }

    fn dropped(&mut self) -> u64 {
        core::mem::take(&mut self.dropped_now)
    }

    /// Returns bytes to feed first (a broken-off echo prefix, given back) and the rest of
    /// `chunk` to feed after them.
    fn filter<'c>(&mut self, chunk: &'c [u8]) -> (Vec<u8>, &'c [u8]) {
        if self.done {
            return (Vec::new(), chunk);
        }
        for (i, b) in chunk.iter().enumerate() {
            if self.expect.get(self.matched) == Some(b) {
                self.matched += 1;
                if self.matched == self.expect.len() {
                    self.done = true;
                    self.dropped_now = u64::try_from(self.matched).unwrap_or(u64::MAX);
                    return (Vec::new(), chunk.get(i + 1..).unwrap_or_default());
                }
            } else {
                // Not an echo after all: give back what we held.
                self.done = true;
                let held = self.expect.get(..self.matched).unwrap_or_default().to_vec();
                return (held, chunk.get(i..).unwrap_or_default());
            }
        }
        (Vec::new(), &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_exact() {
        let mut e = Echo::new(b"abc");
        assert_eq!(e.filter(b"ab"), (vec![], &b""[..]));
        assert_eq!(e.filter(b"cXY"), (vec![], &b"XY"[..]));
        assert_eq!(e.dropped(), 3);
        assert_eq!(e.filter(b"abc"), (vec![], &b"abc"[..]));
        let mut e = Echo::new(b"abc");
        assert_eq!(e.filter(b"ab"), (vec![], &b""[..]));
        assert_eq!(e.filter(b"Z"), (b"ab".to_vec(), &b"Z"[..]));
        assert_eq!(e.dropped(), 0);
    }
}
