#![doc = include_str!("../README.md")]
//!
//! # Features
//!
//! No feature is on by default: the crate is `no_std` and allocation-free as it comes.
//!
//! - `std`: links `std` for std-using dependents and turns on `thiserror/std` (and the same feature of the voltwire crates below). It adds no API: the error types implement `core::error::Error` (the same trait as `std::error::Error`) in every configuration.
//! - `tokio-codec`: `text::VeDirectCodec`, `voltwire_core::codec::StreamCodec` aliases (a `tokio_util::codec` `Decoder`/`Encoder` for `FramedRead`/`FramedWrite`); implies `std`.
//! - `defmt`: `defmt::Format` on the messages, records and errors, for logging on embedded targets.
//! - `serde`: `serde::Serialize` on `text::Record` and `hex::Frame` (and the TEXT code tables and reason bits) in the JSON contract's shapes (`docs/json.md`, `voltwire_core::json`): one key per label with the unit in the key (`battery_voltage_v`, `time_to_go_s`), codes `{"code", "name"}`, bits `{"raw", "flags"}`, ERR as `charger_error`; a HEX frame's decoded register the same way, its JSON `type` from `hex::Frame::json_type`. Serialize only. `no_std`, no alloc.
//!
//! # Memory (`size_of` on a 32-bit MCU target, from `bench/size.sh`)
//!
//! | type | bytes |
//! |---|---|
//! | `text::Decoder` (default, any block) / `text::Decoder<256>` (real devices) | 1384 / 616 |
//! | `text::Record` (every label typed, text fields, 8 untyped extras) | 1200 |
//! | `text::Assembler` (the record being built, one done, one ready) | 3632 |
//! | `text::RecordDecoder` / `text::RecordDecoder<256>` (decoder + assembler) | 5016 / 4248 |
//! | `text::Message` | 1208 |
//! | `hex::Frame`, `hex::Request`, `hex::Response` | 48 each |
//!
//! On a small MCU, run `text::Decoder::<256>::sized()` and apply each block's fields to one
//! `text::Record` of your own (`Record::apply`): about 1.8 KiB in all.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

pub mod hex;
mod products;
#[cfg(feature = "serde")]
mod serde_impl;
pub mod text;

pub use products::product_name;
