//! The bms-bridge on an ESP32-C3: HAL set-up and three loops around `voltwire-bms-node`.
//!
//! - UART1 (GPIO4 TX, GPIO5 RX, 9600 8N1): the Daly BMS, polled every 5 s, charge-MOSFET
//!   write when the rules want it changed.
//! - UART0 (GPIO20 RX, 19200 8N1, receive only): the VE.Direct SmartShunt (the console is
//!   on USB-Serial-JTAG).
//! - GPIO6 / GPIO7 / GPIO10: load 1, load 2, balancer relays, active high, driven low at
//!   boot before anything else.
//! - TIMG0's watchdog resets the chip when the tick loop stalls; a panic resets it too.
//! - Feature `wifi` (default): Wi-Fi station + MQTT in the bms-bridge topic scheme; the
//!   rules never wait for the network.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

mod config;
#[cfg(feature = "wifi")]
mod net;

use core::cell::RefCell;

use embassy_executor::Spawner;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_time::{Duration, Instant, Ticker, Timer, with_timeout};
use esp_hal::Async;
use esp_hal::gpio::{Level, Output, OutputConfig};
use esp_hal::interrupt::software::SoftwareInterruptControl;
use esp_hal::timer::timg::{MwdtStage, TimerGroup};
use esp_hal::uart::{self, Uart, UartRx, UartTx};
use voltwire_bms_node::{DalyLink, Node, NodeConfig, ShuntLink};
use voltwire_bms_rules::Millis;

// The app descriptor the ESP-IDF second-stage bootloader checks (espflash needs it).
#[allow(
    unsafe_code,
    reason = "the macro places a static in the descriptor's link section"
)]
mod app_desc {
    esp_bootloader_esp_idf::esp_app_desc!();
}

/// The node shared by the loops (each lock is short and never held across an await).
type Shared = Mutex<CriticalSectionRawMutex, RefCell<Option<Node<Output<'static>>>>>;

static NODE: Shared = Mutex::new(RefCell::new(None));

/// Milliseconds since boot: the node's clock.
fn now() -> Millis {
    Millis(Instant::now().as_millis())
}

fn with_node<T>(f: impl FnOnce(&mut Node<Output<'static>>) -> T) -> Option<T> {
    NODE.lock(|n| n.borrow_mut().as_mut().map(f))
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // Reset: the relay pins float until the next boot drives them low (the relay board's
    // pull-downs hold them off meanwhile; see the README).
    esp_hal::system::software_reset()
}

#[esp_rtos::main]
async fn main(spawner: Spawner) -> ! {
    let p = esp_hal::init(esp_hal::Config::default());

    // Relays first: off before anything else can run.
    let out = OutputConfig::default();
    let relays = [
        Output::new(p.GPIO6, Level::Low, out),
        Output::new(p.GPIO7, Level::Low, out),
        Output::new(p.GPIO10, Level::Low, out),
    ];

    let timg0 = TimerGroup::new(p.TIMG0);
    let mut wdt = timg0.wdt;
    wdt.set_timeout(
        MwdtStage::Stage0,
        esp_hal::time::Duration::from_millis(config::WATCHDOG_MS),
    );
    wdt.enable();

    let timg1 = TimerGroup::new(p.TIMG1);
    let sw = SoftwareInterruptControl::new(p.SW_INTERRUPT);
    esp_rtos::start(timg1.timer0, sw.software_interrupt0);

    let node = Node::new(
        config::rules(),
        NodeConfig::default(),
        config::MQTT_BASE,
        relays,
        now(),
    );
    let Ok(node) = node else {
        // A bad compile-time base topic: nothing safe to run; relays stay low, the
        // watchdog is not fed, the chip resets and stops here again.
        loop {
            Timer::after(Duration::from_secs(1)).await;
        }
    };
    NODE.lock(|n| *n.borrow_mut() = Some(node));

    let daly_cfg = uart::Config::default().with_baudrate(9600);
    let shunt_cfg = uart::Config::default().with_baudrate(19_200);
    // A UART that cannot be set up leaves its source silent: the Daly's comm latch trips
    // after 60 s (loads off, alarm), the shunt's after 180 s.
    if let Ok(u) = Uart::new(p.UART1, daly_cfg) {
        let (rx, tx) = u.with_tx(p.GPIO4).with_rx(p.GPIO5).into_async().split();
        if let Ok(t) = daly_task(rx, tx) {
            spawner.spawn(t);
        }
    }
    if let Ok(u) = UartRx::new(p.UART0, shunt_cfg)
        && let Ok(t) = shunt_task(u.with_rx(p.GPIO20).into_async())
    {
        spawner.spawn(t);
    }

    #[cfg(feature = "wifi")]
    net::start(&spawner, p.WIFI);

    let mut ticker = Ticker::every(Duration::from_millis(config::TICK_MS));
    loop {
        ticker.next().await;
        let ticked = with_node(|n| {
            n.tick(now());
            #[cfg(not(feature = "wifi"))]
            while n.pop().is_some() {}
        });
        if ticked.is_some() {
            wdt.feed();
        }
    }
}

#[embassy_executor::task]
async fn daly_task(rx: UartRx<'static, Async>, tx: UartTx<'static, Async>) {
    static BUF: static_cell::ConstStaticCell<[u8; 64]> = static_cell::ConstStaticCell::new([0; 64]);
    let mut link = DalyLink::new(rx, tx, voltwire_daly::Variant::UART, BUF.take());
    let mut ticker = Ticker::every(Duration::from_millis(config::DALY_POLL_MS));
    loop {
        ticker.next().await;
        let timeout = Duration::from_millis(config::DALY_TIMEOUT_MS);
        // No answer in time: nothing reaches the rules, the BMS's data ages, and after
        // 60 s its comm latch turns the loads off.
        let Ok(Ok((reading, mosfet))) = with_timeout(timeout, link.poll()).await else {
            continue;
        };
        let Some(want) = with_node(|n| {
            n.bms(now(), reading, mosfet);
            n.charge_mosfet_wanted()
        }) else {
            continue;
        };
        let _ = with_timeout(timeout, link.follow_charge_mosfet(want, mosfet)).await;
    }
}

#[embassy_executor::task]
async fn shunt_task(rx: UartRx<'static, Async>) {
    static BUF: static_cell::ConstStaticCell<[u8; 64]> = static_cell::ConstStaticCell::new([0; 64]);
    let mut link = ShuntLink::new(rx, BUF.take());
    loop {
        match link.next().await {
            Ok(r) => {
                with_node(|n| n.shunt(now(), r));
            }
            // A UART error (overrun, framing): the decoder resynchronises on the next block.
            Err(_) => Timer::after(Duration::from_millis(10)).await,
        }
    }
}
