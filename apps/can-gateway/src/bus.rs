//! The gateway's buses: which end of the gateway a bus is ([`Endpoint`]), over the
//! runtime's bus URLs and bus task (`voltwire_runtime::can::{BusUrl, port}`), which every
//! app shares. A lost SLCAN adapter or console server is reopened with backoff; while it is
//! gone, bursts are dropped and reported (the next burst follows within one interval
//! anyway). A connection is lost when the link fails, when an input delivers no frame for
//! its receive timeout, or when a burst is not written (and, on Lawicel adapters,
//! acknowledged) within [`WRITE_TIMEOUT`].

pub use voltwire_runtime::can::port::{MIN_RECEIVE_TIMEOUT, Timeouts, WRITE_TIMEOUT};
pub use voltwire_runtime::can::{BusUrl, BusUrlError, VirtualBuses};

/// Which end of the gateway a bus belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Input (BMS) `i`.
    Input(usize),
    /// Output (inverter) `i`.
    Output(usize),
}

/// A frame received on one of the gateway's buses.
pub type Received = voltwire_runtime::can::port::Received<Endpoint>;

/// What a bus task reports to the engine task (telemetry; scheduling never waits for it).
pub type BusEvent = voltwire_runtime::can::port::PortEvent<Endpoint>;

/// The channels of one bus task.
pub type Wires = voltwire_runtime::can::port::Wires<Endpoint>;

/// Run one of the gateway's buses until its `to_send` channel closes or the engine goes
/// away; logs name it by `label` (the URL as written in the configuration).
pub async fn run(
    url: BusUrl,
    label: String,
    ep: Endpoint,
    timeouts: Timeouts,
    virtuals: VirtualBuses,
    wires: Wires,
) {
    voltwire_runtime::can::port::run(url, label, ep, timeouts, virtuals, wires).await;
}
