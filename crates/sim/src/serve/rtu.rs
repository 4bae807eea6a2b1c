//! Modbus slaves ([`ModbusResponder`]) served as Modbus RTU through `tokio-modbus`.
//!
//! Both ports carry the same RTU frames (address, PDU, CRC):
//!
//! - TCP is **RTU over TCP**, what a console server in front of the RS485 bus (ser2net, a
//!   USR/Elfin serial server in transparent mode) gives a real installation. Several
//!   clients may be connected at once.
//! - A pty is pumped to an internal RTU-over-TCP server on loopback, as a console server
//!   would; when the server drops its connection (tokio-modbus gives up on a line of
//!   noise), the pump reconnects.
//!
//! Faults: `silent` (no reply), `late` (each reply held back), `garbage` (each reply
//! replaced by as many noise bytes), `bad-checksum` (the CRC's last byte flipped),
//! `over-temperature`; `drop` is the serving layer's ([`super::PortDrop`]).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_modbus::server::Service;
use tokio_modbus::server::rtu_over_tcp::Server;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

use super::{Log, Port, Pty, write_out};
use crate::modbus::{ModbusReply, ModbusRequest, ModbusResponder};
use crate::world::{self, SharedWorld, World};
use crate::{Faults, Plant, PlantCommand};

/// A Modbus slave on a plant, served as Modbus RTU.
#[derive(Clone)]
pub struct RtuPort {
    slave: Slave,
}

impl core::fmt::Debug for RtuPort {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RtuPort")
            .field("faults", &self.slave.faults())
            .finish_non_exhaustive()
    }
}

impl RtuPort {
    /// `responder` on `plant`, the plant running `speed` times faster than real time, with
    /// the responder's faults.
    pub fn new(plant: Plant, responder: Box<dyn ModbusResponder + Send>, speed: f64) -> Self {
        Self::in_world(World::new(plant, speed, 0).shared(), None, responder)
    }

    /// `responder` as device `index` of a shared `world` (a scene; `None`: its faults are
    /// its own): its faults, the output ones (`garbage`, `bad_checksum`) included, follow
    /// the world's faults of the device as they change.
    pub fn in_world(
        world: SharedWorld,
        index: Option<usize>,
        responder: Box<dyn ModbusResponder + Send>,
    ) -> Self {
        let shared = Shared {
            world,
            index,
            responder,
        };
        Self {
            slave: Slave(Arc::new(Mutex::new(shared))),
        }
    }
}

impl Port for RtuPort {
    async fn serve_tcp(&mut self, listener: TcpListener, log: Log) -> io::Result<()> {
        rtu_server(listener, self.slave.clone(), log, true).await
    }

    async fn serve_pty(&mut self, pty: Pty, log: Log) -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let inner = listener.local_addr()?;
        tokio::select! {
            r = rtu_server(listener, self.slave.clone(), log, false) => r,
            r = pump(pty, inner) => r,
        }
    }
}

/// The plant and the device, in (scaled) real time.
struct Shared {
    world: SharedWorld,
    index: Option<usize>,
    responder: Box<dyn ModbusResponder + Send>,
}

impl Shared {
    /// Handle one request; the reply (`None`: none) and how late to send it.
    fn handle(
        &mut self,
        req: &SlaveRequest<'_>,
    ) -> (Result<Option<Response>, ExceptionCode>, Duration) {
        let mut w = world::lock(&self.world);
        let now = w.advance();
        if let Some(d) = self.index {
            *self.responder.faults_mut() = w.faults(d);
        }
        let delay = self.responder.faults().delay;
        let (request, single) = match &req.request {
            Request::ReadHoldingRegisters(start, count) => (
                ModbusRequest::ReadHolding {
                    start: *start,
                    count: *count,
                },
                None,
            ),
            Request::ReadInputRegisters(start, count) => (
                ModbusRequest::ReadInput {
                    start: *start,
                    count: *count,
                },
                None,
            ),
            Request::WriteSingleRegister(start, value) => (
                ModbusRequest::Write {
                    start: *start,
                    values: std::slice::from_ref(value),
                },
                Some(*value),
            ),
            Request::WriteMultipleRegisters(start, values) => (
                ModbusRequest::Write {
                    start: *start,
                    values,
                },
                None,
            ),
            _ => {
                let ours = req.slave == self.responder.address() && !self.responder.faults().silent;
                let reply = if ours {
                    Err(ExceptionCode::IllegalFunction)
                } else {
                    Ok(None)
                };
                return (reply, delay);
            }
        };
        let reply = self.responder.handle(req.slave, request, now, w.plant());
        let mut cmds: Vec<PlantCommand> = Vec::new();
        self.responder.drain_commands(&mut cmds);
        w.plant_mut().apply(cmds);
        drop(w);
        let response = match (reply, &req.request) {
            (None, _) => Ok(None),
            (Some(ModbusReply::Exception(e)), _) => Err(ExceptionCode::new(e.code())),
            (Some(ModbusReply::Registers(r)), Request::ReadInputRegisters(..)) => {
                Ok(Some(Response::ReadInputRegisters(r)))
            }
            (Some(ModbusReply::Registers(r)), _) => Ok(Some(Response::ReadHoldingRegisters(r))),
            (Some(_), Request::WriteMultipleRegisters(start, values)) => Ok(Some(
                Response::WriteMultipleRegisters(*start, u16::try_from(values.len()).unwrap_or(0)),
            )),
            (Some(_), Request::WriteSingleRegister(start, _)) => Ok(Some(
                Response::WriteSingleRegister(*start, single.unwrap_or_default()),
            )),
            (Some(_), _) => Err(ExceptionCode::ServerDeviceFailure),
        };
        (response, delay)
    }
}

/// The `tokio-modbus` service: one simulated slave.
#[derive(Clone)]
struct Slave(Arc<Mutex<Shared>>);

impl Slave {
    /// The responder's faults now (as the last request set them from the world).
    fn faults(&self) -> Faults {
        *self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .responder
            .faults()
    }
}

type Reply = Result<Option<Response>, ExceptionCode>;

impl Service for Slave {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Pin<Box<dyn Future<Output = Reply> + Send>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let (reply, delay) = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .handle(&req);
        Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            reply
        })
    }
}

/// A transport that applies the output faults to what the server writes: `tokio-modbus`
/// writes each response frame in one piece, so the last byte of a write is the CRC's.
struct FaultyIo<T> {
    inner: T,
    slave: Slave,
    noise: u32,
}

impl<T: AsyncRead + Unpin> AsyncRead for FaultyIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for FaultyIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let faults = self.slave.faults();
        if !(faults.garbage || faults.bad_checksum) {
            return Pin::new(&mut self.inner).poll_write(cx, buf);
        }
        let mut out = buf.to_vec();
        if faults.garbage {
            for b in &mut out {
                // xorshift32
                let mut x = self.noise;
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                self.noise = x;
                *b = x.to_le_bytes()[1];
            }
        } else if let Some(last) = out.last_mut() {
            *last ^= 0x5A;
        }
        Pin::new(&mut self.inner).poll_write(cx, &out)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serve RTU over TCP on `listener` until an accept fails; `log` hears of connections that
/// end in an error and, with `log_clients`, of who connects.
async fn rtu_server(
    listener: TcpListener,
    slave: Slave,
    log: Log,
    log_clients: bool,
) -> io::Result<()> {
    let server = Server::new(listener);
    let on_connected = |stream: TcpStream, peer: SocketAddr| {
        let slave = slave.clone();
        async move {
            let _ = stream.set_nodelay(true);
            if log_clients {
                log(format_args!("voltwire sim: client {peer} connected"));
            }
            let io = FaultyIo {
                inner: stream,
                slave: slave.clone(),
                noise: 0x1234_5678,
            };
            Ok(Some((slave, io)))
        }
    };
    let on_error = move |e: io::Error| log(format_args!("voltwire sim: connection ended: {e}"));
    server.serve(&on_connected, on_error).await
}

/// Pump bytes between the pty and the internal RTU-over-TCP server at `inner`; reconnect
/// when the server drops the connection.
async fn pump(pty: Pty, inner: SocketAddr) -> io::Result<()> {
    let (mut reader, mut writer, slave) = pty.split();
    let discard = || slave.discard();
    let mut from_pty = [0u8; 512];
    let mut from_server = [0u8; 512];
    loop {
        let stream = TcpStream::connect(inner).await?;
        let _ = stream.set_nodelay(true);
        let (mut rx, mut tx) = stream.into_split();
        loop {
            tokio::select! {
                n = reader.read(&mut from_pty) => {
                    let n = n?;
                    if n == 0 {
                        return Ok(());
                    }
                    if tx.write_all(from_pty.get(..n).unwrap_or_default()).await.is_err() {
                        break;
                    }
                }
                n = rx.read(&mut from_server) => {
                    match n {
                        Ok(n) if n > 0 => {
                            write_out(&mut writer, from_server.get(..n).unwrap_or_default(), &discard).await?;
                        }
                        _ => break,
                    }
                }
            }
        }
    }
}
