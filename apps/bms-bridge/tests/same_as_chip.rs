//! The ESP32-C3 firmware (`voltwire-bms-node`) and this app announce and echo the same
//! things for the same base topic: the Home Assistant discovery set (topics and payloads)
//! and the retained `<base>/config` settings JSON.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    missing_docs,
    reason = "std test"
)]

use std::collections::BTreeMap;

use bms_bridge::app::discovery_configs;
use serde_json::Value;
use voltwire_bms_node::{Node, NodeConfig, discovery};
use voltwire_bms_rules::{Config, Millis, Patch};
use voltwire_runtime::mqtt::Topics;

fn chip_set(base: &str) -> BTreeMap<String, Value> {
    (0..discovery::COUNT)
        .map(|i| {
            let m = discovery::message(base, i).unwrap();
            assert!(m.retain, "discovery is retained");
            (
                m.topic.as_str().to_owned(),
                serde_json::from_str(&m.payload).unwrap(),
            )
        })
        .collect()
}

fn linux_set(base: &str) -> BTreeMap<String, Value> {
    discovery_configs(&Topics::new(base).unwrap())
        .into_iter()
        .map(|c| (c.topic, serde_json::from_str(&c.payload).unwrap()))
        .collect()
}

#[test]
fn the_chip_announces_the_same_discovery_set() {
    for base in ["voltwire/bms-bridge", "bb", "site-2/bank_a/bridge"] {
        let chip = chip_set(base);
        let linux = linux_set(base);
        assert_eq!(linux.len(), discovery::COUNT, "{base}");
        assert_eq!(
            chip.keys().collect::<Vec<_>>(),
            linux.keys().collect::<Vec<_>>(),
            "{base}: topics"
        );
        for (topic, want) in &linux {
            assert_eq!(&chip[topic], want, "{topic}");
        }
    }
    // Same order of keys too (the payloads are byte-for-byte the same JSON).
    let linux = discovery_configs(&Topics::new("vw/b").unwrap());
    let chip: Vec<_> = (0..discovery::COUNT)
        .map(|i| discovery::message("vw/b", i).unwrap())
        .collect();
    for c in &linux {
        let m = chip.iter().find(|m| m.topic.as_str() == c.topic).unwrap();
        assert_eq!(m.payload.as_str(), c.payload, "{}", c.topic);
    }
}

#[derive(Debug)]
struct NoPin;

impl embedded_hal::digital::ErrorType for NoPin {
    type Error = core::convert::Infallible;
}

impl embedded_hal::digital::OutputPin for NoPin {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn the_chip_echoes_the_settings_as_this_app_does() {
    let config = Patch::from_json(
        br#"{"cell_count": 16, "cell_temp_recover_c": -2.5, "balancer_on_diff_v": 0.008}"#,
    )
    .unwrap()
    .apply(Config::default())
    .unwrap();
    let mut node = Node::new(
        config,
        NodeConfig::default(),
        "vw/b",
        [NoPin, NoPin, NoPin],
        Millis(0),
    )
    .unwrap();
    node.connected(Millis(0));
    node.tick(Millis(3_000));
    let echo = std::iter::from_fn(|| node.pop())
        .find(|p| p.topic.as_str() == "vw/b/config")
        .unwrap();
    let engine = bms_bridge::engine::Engine::new(config, Millis(0), Vec::new());
    let linux = engine.settings_json();
    assert_eq!(echo.payload.as_str(), linux.to_string());
    assert_eq!(linux["cell_temp_recover_c"], -2.5);
    assert_eq!(linux["balancer_on_diff_v"], 0.008);
    // What this app reads back from the chip's echo is the chip's configuration.
    let back: bms_bridge::config::RulesSettings = serde_json::from_str(&echo.payload).unwrap();
    assert_eq!(back.apply(Config::default()).unwrap(), config);
}
