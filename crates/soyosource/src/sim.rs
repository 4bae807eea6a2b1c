//! A simulated Soyosource GTN: bytes of the RS485 line and `now` in, output power out.

use voltwire_core::{StreamDecoder, Watts};

use crate::{Decoder, Demand};

/// The simulated inverter. It follows the power of the latest valid demand frame, clamped
/// to its rating, and falls back to 0 W when no valid frame arrived for `timeout_ms` (the
/// real unit stops when the limiter stops resending).
#[derive(Debug)]
pub struct Gtn {
    /// The rated output power.
    pub rating: Watts,
    /// Output drops to 0 W this long after the last valid frame.
    pub timeout_ms: u64,
    decoder: Decoder,
    demand: Option<(u64, Watts)>,
    frames: u64,
    errors: u64,
}

impl Gtn {
    /// A unit of `rating` watts that stops `timeout_ms` after the last valid frame.
    pub fn new(rating: Watts, timeout_ms: u64) -> Self {
        Self {
            rating,
            timeout_ms,
            decoder: Decoder::default(),
            demand: None,
            frames: 0,
            errors: 0,
        }
    }

    /// Bytes received at `now_ms`.
    pub fn receive(&mut self, now_ms: u64, bytes: &[u8]) {
        let mut latest = None;
        let mut errors = 0;
        self.decoder.feed_all(bytes, |l| match l.value {
            Ok(Demand { power }) => latest = Some(power),
            Err(_) => errors += 1,
        });
        self.errors += errors;
        if let Some(p) = latest {
            self.frames += 1;
            self.demand = Some((now_ms, p));
        }
    }

    /// Output power at `now_ms` (a magnitude: what it feeds into the house).
    pub fn output(&self, now_ms: u64) -> Watts {
        match self.demand {
            Some((at, p)) if now_ms.saturating_sub(at) <= self.timeout_ms => {
                Watts(p.0.clamp(0, self.rating.0.max(0)))
            }
            _ => Watts(0),
        }
    }

    /// Valid frames received (one per `receive` call that held any).
    pub const fn frames(&self) -> u64 {
        self.frames
    }

    /// Corrupt frames received.
    pub const fn errors(&self) -> u64 {
        self.errors
    }

    /// Noise bytes dropped.
    pub fn dropped_bytes(&self) -> u64 {
        self.decoder.dropped_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_demand_clamped_and_stops_without_frames() {
        let mut g = Gtn::new(Watts(900), 2_000);
        assert_eq!(g.output(0), Watts(0));
        g.receive(0, &Demand { power: Watts(400) }.to_bytes().unwrap());
        assert_eq!(g.output(0), Watts(400));
        g.receive(1_000, &Demand { power: Watts(1200) }.to_bytes().unwrap());
        assert_eq!(g.output(1_000), Watts(900), "clamped to the rating");
        assert_eq!(g.output(3_000), Watts(900));
        assert_eq!(g.output(3_001), Watts(0), "no frame for 2 s: stopped");
        let mut bad = Demand { power: Watts(100) }.to_bytes().unwrap();
        bad[7] ^= 1;
        g.receive(4_000, &bad);
        assert_eq!(g.output(4_000), Watts(0), "a corrupt frame is not a demand");
        assert_eq!((g.frames(), g.errors()), (2, 1));
    }
}
