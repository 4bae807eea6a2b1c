//! The embedded broker on the wire, byte by byte (MQTT 3.1.1): the paths the client tests
//! do not take: `QoS` 2 in, granted `QoS` capped at 1, a duplicate `QoS` 2 PUBLISH delivered once,
//! `$` topics and wildcards, the will on a dropped socket, a restart on the same port, and
//! the log lines in Mosquitto's wording.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use voltwire_testkit::{Broker, BrokerKind};

fn string(s: &str) -> Vec<u8> {
    let mut v = u16::try_from(s.len()).unwrap().to_be_bytes().to_vec();
    v.extend_from_slice(s.as_bytes());
    v
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    assert!(body.len() < 128);
    let mut v = vec![first, u8::try_from(body.len()).unwrap()];
    v.extend_from_slice(body);
    v
}

struct Client(TcpStream);

impl Client {
    /// CONNECT (clean session, keep-alive 60 s, optional will) and check the CONNACK.
    fn connect(port: u16, id: &str, will: Option<(&str, &str)>) -> Self {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut c = Self(s);
        let mut body = string("MQTT");
        body.push(4);
        body.push(if will.is_some() {
            0x02 | 0x04 | 0x20
        } else {
            0x02
        });
        body.extend_from_slice(&60u16.to_be_bytes());
        body.extend(string(id));
        if let Some((topic, msg)) = will {
            body.extend(string(topic));
            body.extend(string(msg));
        }
        c.send(&packet(0x10, &body));
        assert_eq!(c.read(), (0x20, vec![0, 0]));
        c
    }

    fn send(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes).unwrap();
    }

    /// One packet: (first byte, body).
    fn read(&mut self) -> (u8, Vec<u8>) {
        let mut h = [0u8; 2];
        self.0.read_exact(&mut h).unwrap();
        assert!(h[1] < 128, "test packets are short");
        let mut body = vec![0u8; usize::from(h[1])];
        self.0.read_exact(&mut body).unwrap();
        (h[0], body)
    }

    fn subscribe(&mut self, id: u16, filters: &[(&str, u8)]) -> Vec<u8> {
        let mut body = id.to_be_bytes().to_vec();
        for (f, q) in filters {
            body.extend(string(f));
            body.push(*q);
        }
        self.send(&packet(0x82, &body));
        let (first, ack) = self.read();
        assert_eq!(first, 0x90);
        assert_eq!(ack[..2], id.to_be_bytes());
        ack[2..].to_vec()
    }

    /// A delivered PUBLISH: (qos, retain, topic, payload).
    fn delivery(&mut self) -> (u8, bool, String, Vec<u8>) {
        let (first, body) = self.read();
        assert_eq!(first >> 4, 3, "expected PUBLISH, got {first:#x}");
        let qos = (first >> 1) & 3;
        let n = usize::from(u16::from_be_bytes([body[0], body[1]]));
        let topic = String::from_utf8(body[2..2 + n].to_vec()).unwrap();
        let start = 2 + n + if qos > 0 { 2 } else { 0 };
        (qos, first & 1 == 1, topic, body[start..].to_vec())
    }
}

fn publish(topic: &str, payload: &str, qos: u8, retain: bool, id: u16) -> Vec<u8> {
    let mut body = string(topic);
    if qos > 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(payload.as_bytes());
    packet(0x30 | (qos << 1) | u8::from(retain), &body)
}

#[test]
fn qos2_in_wildcards_retained_and_granted_qos() {
    let broker = Broker::start_on(BrokerKind::Embedded, "wire");
    let mut sub = Client::connect(broker.port(), "sub", None);
    // QoS 2 asked, 1 granted; a bad filter refused; `#` does not see `$` topics.
    assert_eq!(
        sub.subscribe(7, &[("a/+", 2), ("a/#/b", 0), ("#", 0)]),
        [1, 0x80, 0]
    );
    let mut publ = Client::connect(broker.port(), "pub", None);
    publ.send(&publish("a/b", "two", 2, false, 9));
    assert_eq!(publ.read(), (0x50, vec![0, 9])); // PUBREC
    publ.send(&publish("a/b", "two", 2, false, 9)); // re-sent before PUBREL: not again
    assert_eq!(publ.read(), (0x50, vec![0, 9]));
    publ.send(&packet(0x62, &[0, 9])); // PUBREL
    assert_eq!(publ.read(), (0x70, vec![0, 9])); // PUBCOMP
    publ.send(&publish("$SYS/x", "hidden", 0, false, 0));
    publ.send(&publish("a/c", "kept", 1, true, 10));
    assert_eq!(publ.read(), (0x40, vec![0, 10])); // PUBACK
    // Delivered once, at the granted QoS 1, in order; live deliveries carry no retain flag.
    assert_eq!(sub.delivery(), (1, false, "a/b".into(), b"two".to_vec()));
    assert_eq!(sub.delivery(), (1, false, "a/c".into(), b"kept".to_vec()));
    // A later subscriber gets the retained message with the flag.
    let mut late = Client::connect(broker.port(), "late", None);
    assert_eq!(late.subscribe(1, &[("a/c", 0)]), [0]);
    assert_eq!(late.delivery(), (0, true, "a/c".into(), b"kept".to_vec()));
    // PINGREQ
    late.send(&[0xC0, 0]);
    assert_eq!(late.read(), (0xD0, vec![]));
}

#[test]
fn will_on_dropped_socket_and_restart_on_the_same_port() {
    let mut broker = Broker::start_on(BrokerKind::Embedded, "will");
    let port = broker.port();
    let mut watcher = Client::connect(port, "watcher", None);
    assert_eq!(watcher.subscribe(1, &[("dev/+/status", 0)]), [0]);
    let dying = Client::connect(port, "dev1", Some(("dev/1/status", "offline")));
    drop(dying);
    assert_eq!(
        watcher.delivery(),
        (0, false, "dev/1/status".into(), b"offline".to_vec())
    );
    let mut clean = Client::connect(port, "dev2", Some(("dev/2/status", "offline")));
    clean.send(&[0xE0, 0]); // DISCONNECT: the will is discarded
    let mut buf = [0u8; 1];
    assert_eq!(
        clean.0.read(&mut buf).unwrap(),
        0,
        "the broker closes after DISCONNECT"
    );
    let log = broker.log();
    assert!(log.contains("Client dev1 closed its connection."), "{log}");
    assert!(log.contains("Received DISCONNECT from dev2\n"), "{log}");
    assert!(log.contains("Client dev2 disconnected.\n"), "{log}");

    broker.kill();
    let mut buf = [0u8; 1];
    let r = watcher.0.read(&mut buf);
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    broker.spawn();
    assert_eq!(broker.port(), port);
    let mut again = Client::connect(port, "watcher", None);
    assert_eq!(again.subscribe(2, &[("dev/#", 0)]), [0]);
    // The restarted broker is empty: nothing retained, no delivery of the old will.
    again.send(&[0xC0, 0]);
    assert_eq!(again.read(), (0xD0, vec![]));
}
