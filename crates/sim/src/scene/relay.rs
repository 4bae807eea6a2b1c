//! A scene's relay on MQTT (`kind = "relay"`, `listen = "mqtt://HOST:PORT/TOPIC"`), as a
//! Tasmota device answers: `cmnd/TOPIC/POWER` with `ON`/`OFF`/`TOGGLE` (or `1`/`0`, any
//! case) switches it, an empty payload asks; the state goes to `stat/TOPIC/POWER` (`ON` /
//! `OFF`) and `stat/TOPIC/RESULT` (`{"POWER":"ON"}`). Anything else is answered
//! `{"Command":"Unknown"}` and switches nothing; a retained command (a stale one the broker
//! replays) is ignored. The relay's state switches its load on the scene's plant
//! ([`crate::World::set_relay`]). A lost broker is reconnected with a backoff from 1 s to
//! 30 s.

use std::io;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use crate::serve::Log;
use crate::world::{self, SharedWorld};

/// What a command asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    Set(bool),
    Toggle,
    Query,
}

/// A `cmnd/TOPIC/POWER` payload: `None` when it is none of Tasmota's words.
fn ask(payload: &[u8]) -> Option<Ask> {
    let s = std::str::from_utf8(payload)
        .ok()?
        .trim()
        .to_ascii_uppercase();
    Some(match s.as_str() {
        "" => Ask::Query,
        "ON" | "1" | "TRUE" => Ask::Set(true),
        "OFF" | "0" | "FALSE" => Ask::Set(false),
        "TOGGLE" | "2" => Ask::Toggle,
        _ => return None,
    })
}

/// `user:pass@host:port` or `host:port` after `mqtt://`.
fn options(broker: &str, id: &str) -> io::Result<MqttOptions> {
    let rest = broker.strip_prefix("mqtt://").unwrap_or(broker);
    let (creds, hostport) = match rest.rsplit_once('@') {
        Some((c, h)) => (Some(c), h),
        None => (None, rest),
    };
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{broker}: not mqtt://HOST:PORT"),
        )
    };
    let (host, port) = hostport.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let mut o = MqttOptions::new(id, host, port);
    o.set_keep_alive(Duration::from_secs(15));
    if let Some((user, pass)) = creds.and_then(|c| c.split_once(':')) {
        o.set_credentials(user, pass);
    }
    Ok(o)
}

/// Serve relay `name`, device `index` of `world`, on `broker` as `topic` until the scene
/// stops; `link` gets `BROKER/TOPIC` at once (it never ends by itself: a lost broker is
/// retried).
///
/// # Errors
///
/// A broker address that is not `mqtt://[USER:PASS@]HOST:PORT`.
pub(super) async fn serve(
    name: String,
    index: usize,
    broker: String,
    topic: String,
    world: SharedWorld,
    link: tokio::sync::oneshot::Sender<String>,
    log: Log,
) -> io::Result<()> {
    let id = format!("voltwire-sim-relay-{}-{}", std::process::id(), index);
    let (client, mut events) = AsyncClient::new(options(&broker, &id)?, 32);
    let cmnd = format!("cmnd/{topic}/POWER");
    let stat = format!("stat/{topic}/POWER");
    let result = format!("stat/{topic}/RESULT");
    let _ = link.send(format!("{broker}/{topic}"));
    let power_word = |on: bool| if on { "ON" } else { "OFF" };
    let state = || world::lock(&world).relay(index).unwrap_or(false);
    let report = |client: &AsyncClient, on: bool| {
        let _ = client.try_publish(&stat, QoS::AtLeastOnce, false, power_word(on));
        let _ = client.try_publish(
            &result,
            QoS::AtLeastOnce,
            false,
            format!("{{\"POWER\":\"{}\"}}", power_word(on)),
        );
    };
    let mut backoff = Duration::from_secs(1);
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff = Duration::from_secs(1);
                let _ = client.try_subscribe(&cmnd, QoS::AtLeastOnce);
                report(&client, state());
            }
            Ok(Event::Incoming(Packet::Publish(p))) if p.topic == cmnd && !p.retain => {
                match ask(&p.payload) {
                    None => {
                        let _ = client.try_publish(
                            &result,
                            QoS::AtLeastOnce,
                            false,
                            "{\"Command\":\"Unknown\"}",
                        );
                    }
                    Some(a) => {
                        let on = match a {
                            Ask::Set(on) => on,
                            Ask::Toggle => !state(),
                            Ask::Query => state(),
                        };
                        if a != Ask::Query {
                            world::lock(&world).set_relay(index, on);
                        }
                        report(&client, on);
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                log(format_args!(
                    "voltwire sim: relay {name}: broker {broker}: {e}; retrying in {} s",
                    backoff.as_secs()
                ));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn tasmota_words() {
        assert_eq!(ask(b"ON"), Some(Ask::Set(true)));
        assert_eq!(ask(b"off"), Some(Ask::Set(false)));
        assert_eq!(ask(b"1"), Some(Ask::Set(true)));
        assert_eq!(ask(b"toggle"), Some(Ask::Toggle));
        assert_eq!(ask(b""), Some(Ask::Query));
        assert_eq!(ask(b"maybe"), None);
        assert_eq!(ask(&[0xff]), None);
    }
}
