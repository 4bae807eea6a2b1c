//! Wi-Fi station + MQTT (feature `wifi`). Three tasks: the Wi-Fi connection (reconnect
//! with backoff), the IP stack, and the MQTT session: connect with a retained `offline`
//! last will, publish `online`, subscribe to `<base>/command/+` and `<base>/config` (the
//! retained settings of the last run), then hand the node's publications to the broker and
//! the broker's commands and retained settings to the node. Any error ends the
//! session; it starts again after a backoff (1 s doubling to 60 s). The rules never wait
//! for any of this: while the broker is away the node's bounded queue drops its oldest.

extern crate alloc;

use core::net::Ipv4Addr;
use core::num::NonZero;

use embassy_executor::Spawner;
use embassy_futures::select::{Either, select};
use embassy_net::tcp::TcpSocket;
use embassy_net::{Runner, Stack, StackResources};
use embassy_time::{Duration, Instant, Timer};
use esp_hal::peripherals::WIFI;
use esp_radio::wifi::sta::StationConfig;
use esp_radio::wifi::{self, Config as WifiConfig, Interface, WifiController};
use rust_mqtt::buffer::AllocBuffer;
use rust_mqtt::client::Client;
use rust_mqtt::client::event::Event;
use rust_mqtt::client::options::{
    ConnectOptions, PublicationOptions, SubscriptionOptions, TopicReference, WillOptions,
};
use rust_mqtt::config::KeepAlive;
use rust_mqtt::types::{MqttBinary, MqttString, TopicFilter, TopicName};
use static_cell::StaticCell;
use voltwire_bms_node::{Publication, discovery};
use voltwire_bms_rules::topics;

use crate::{config, now, with_node};

/// Heap for the Wi-Fi driver (≈ 50 KiB in station mode per esp-radio) and the MQTT
/// client's packet buffers (bounded by the maximum packet size below).
const HEAP_SIZE: usize = 72 * 1024;
/// Largest MQTT packet the broker may send us (commands are a few bytes).
const MAX_PACKET: u32 = 2048;
/// MQTT keep-alive, seconds; a ping goes out after half of it without traffic.
const KEEP_ALIVE_S: u16 = 30;

/// Backoff between attempts: 1 s doubling to 60 s, reset after a success.
struct Backoff(u64);

impl Backoff {
    const fn new() -> Self {
        Self(1_000)
    }
    async fn wait(&mut self) {
        Timer::after(Duration::from_millis(self.0)).await;
        self.0 = (self.0 * 2).min(60_000);
    }
    fn reset(&mut self) {
        self.0 = 1_000;
    }
}

/// Start Wi-Fi, the IP stack and the MQTT session. A failure to start the radio leaves
/// the node running alone (its publications are dropped, counted).
pub fn start(spawner: &Spawner, wifi_peripheral: WIFI<'static>) {
    #[allow(unsafe_code, reason = "esp-alloc's macro places the heap in a static")]
    {
        esp_alloc::heap_allocator!(size: HEAP_SIZE);
    }
    let Ok((controller, interfaces)) = wifi::new(wifi_peripheral, Default::default()) else {
        return;
    };
    static RESOURCES: StaticCell<StackResources<3>> = StaticCell::new();
    let seed = u64::from(esp_hal::rng::Rng::new().random());
    let (stack, runner) = embassy_net::new(
        interfaces.station,
        embassy_net::Config::dhcpv4(Default::default()),
        RESOURCES.init(StackResources::new()),
        seed,
    );
    if let Ok(t) = wifi_task(controller) {
        spawner.spawn(t);
    }
    if let Ok(t) = ip_task(runner) {
        spawner.spawn(t);
    }
    if let Ok(t) = mqtt_task(stack) {
        spawner.spawn(t);
    }
}

#[embassy_executor::task]
async fn ip_task(mut runner: Runner<'static, Interface<'static>>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn wifi_task(mut controller: WifiController<'static>) {
    let station = StationConfig::default()
        .with_ssid(config::WIFI_SSID)
        .with_password(config::WIFI_PASSWORD.into());
    let mut backoff = Backoff::new();
    loop {
        if controller.is_connected() {
            let _ = controller.wait_for_disconnect_async().await;
            backoff.wait().await;
            continue;
        }
        if controller
            .set_config(&WifiConfig::Station(station.clone()))
            .is_err()
        {
            backoff.wait().await;
            continue;
        }
        match controller.connect_async().await {
            Ok(_) => backoff.reset(),
            Err(_) => backoff.wait().await,
        }
    }
}

fn broker() -> (Ipv4Addr, u16) {
    let host = config::MQTT_HOST
        .parse()
        .unwrap_or(Ipv4Addr::new(192, 168, 1, 10));
    let port = config::MQTT_PORT.parse().unwrap_or(1883);
    (host, port)
}

#[embassy_executor::task]
async fn mqtt_task(stack: Stack<'static>) {
    let mut rx = [0u8; 2048];
    let mut tx = [0u8; 2048];
    let mut backoff = Backoff::new();
    loop {
        stack.wait_config_up().await;
        let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
        socket.set_timeout(Some(Duration::from_secs(u64::from(KEEP_ALIVE_S) * 2)));
        if socket.connect(broker()).await.is_ok() && session(&mut socket, &mut backoff).await {
            backoff.reset();
        }
        socket.abort();
        backoff.wait().await;
    }
}

/// Topic strings of the session (built once from the compile-time base).
struct Topics {
    availability: heapless::String<80>,
    commands: heapless::String<80>,
    config: heapless::String<80>,
}

impl Topics {
    fn new() -> Option<Self> {
        let mut availability = heapless::String::new();
        topics::write_topic(&mut availability, config::MQTT_BASE, topics::AVAILABILITY).ok()?;
        let mut commands = heapless::String::new();
        topics::write_command_topic(&mut commands, config::MQTT_BASE, "+").ok()?;
        let mut config = heapless::String::new();
        topics::write_topic(&mut config, config::MQTT_BASE, topics::CONFIG).ok()?;
        Some(Self {
            availability,
            commands,
            config,
        })
    }
}

/// The broker refused or the connection failed.
struct Lost;

/// Publish one message (QoS 0). A topic that is not a valid MQTT topic name is dropped
/// (never happens for the node's topics).
async fn publish<'c, N, B, const S: usize, const R: usize, const T: usize>(
    client: &mut Client<'_, 'c, N, B, S, R, T, 0, 0, 0, 0>,
    p: &Publication,
) -> Result<(), Lost>
where
    N: rust_mqtt::io::Transport,
    B: rust_mqtt::buffer::BufferProvider<'c>,
{
    let Ok(s) = MqttString::from_str(&p.topic) else {
        return Ok(());
    };
    let Some(name) = TopicName::new(s) else {
        return Ok(());
    };
    let mut options = PublicationOptions::new(TopicReference::Name(name));
    if p.retain {
        options = options.retain();
    }
    client
        .publish(&options, p.payload.as_bytes().into())
        .await
        .map(|_| ())
        .map_err(|_| Lost)
}

/// One MQTT session on a connected socket; returns whether it got as far as subscribing
/// (a session that worked resets the backoff).
async fn session(socket: &mut TcpSocket<'_>, backoff: &mut Backoff) -> bool {
    let Some(t) = Topics::new() else {
        return false;
    };
    let Ok(availability) = MqttString::from_str(&t.availability) else {
        return false;
    };
    let Some(will_topic) = TopicName::new(availability.as_borrowed()) else {
        return false;
    };
    let Ok(offline) = MqttBinary::from_slice(topics::OFFLINE.as_bytes()) else {
        return false;
    };
    let options = ConnectOptions::new()
        .clean_start()
        .keep_alive(KeepAlive::Seconds(
            NonZero::new(KEEP_ALIVE_S).unwrap_or(NonZero::<u16>::MIN),
        ))
        .maximum_packet_size(NonZero::new(MAX_PACKET).unwrap_or(NonZero::<u32>::MIN))
        .will(WillOptions::new(will_topic.clone(), offline).retain());
    let mut buffer = AllocBuffer;
    // Two subscriptions in flight: the commands and the retained config.
    let mut client: Client<'_, '_, _, _, 2, 1, 1, 0, 0, 0, 0> = Client::new(&mut buffer);
    let id = MqttString::from_str(config::MQTT_CLIENT_ID).ok();
    if client.connect(&mut *socket, &options, id).await.is_err() {
        return false;
    }
    let online = PublicationOptions::new(TopicReference::Name(will_topic)).retain();
    if client
        .publish(&online, topics::ONLINE.as_bytes().into())
        .await
        .is_err()
    {
        return false;
    }
    // The commands, and the retained settings of the last run (taken once, after the
    // first connection; see `Node::connected`).
    for filter in [t.commands.as_str(), t.config.as_str()] {
        let Ok(filter_str) = MqttString::from_str(filter) else {
            return false;
        };
        let Some(filter) = TopicFilter::new(filter_str) else {
            return false;
        };
        if client
            .subscribe(filter, &SubscriptionOptions::new())
            .await
            .is_err()
        {
            return false;
        }
    }
    with_node(|n| n.connected(now()));
    // Home Assistant discovery (retained), the Linux bridge's set, one message at a time.
    if config::HA_DISCOVERY {
        for i in 0..discovery::COUNT {
            let Some(m) = discovery::message(config::MQTT_BASE, i) else {
                continue;
            };
            if publish(&mut client, &m).await.is_err() {
                return true;
            }
        }
    }
    backoff.reset();
    let mut last_sent = Instant::now();
    loop {
        // Wait for a packet header (cancel-safe) or for 200 ms to pass.
        match select(
            client.poll_header(),
            Timer::after(Duration::from_millis(200)),
        )
        .await
        {
            Either::First(Ok(header)) => match client.poll_body(header).await {
                Ok(Event::Publish(p)) => {
                    let topic = match &p.topic {
                        TopicReference::Name(n) | TopicReference::Mapping(n, _) => {
                            Some(n.as_ref().as_str())
                        }
                        TopicReference::Alias(_) => None,
                    };
                    if let Some(topic) = topic {
                        with_node(|n| n.message(now(), topic, &p.message, p.retain));
                    }
                }
                Ok(_) => {}
                Err(_) => return true,
            },
            Either::First(Err(_)) => return true,
            Either::Second(()) => {}
        }
        // Hand over everything the node has queued.
        while let Some(p) = with_node(|n| n.pop()).flatten() {
            if publish(&mut client, &p).await.is_err() {
                with_node(|n| n.unpop(p.clone()));
                return true;
            }
            last_sent = Instant::now();
        }
        if last_sent.elapsed() > Duration::from_secs(u64::from(KEEP_ALIVE_S) / 2) {
            if client.ping().await.is_err() {
                return true;
            }
            last_sent = Instant::now();
        }
    }
}
