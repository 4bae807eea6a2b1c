#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "app")]
#[cfg_attr(docsrs, doc(cfg(feature = "app")))]
pub mod app;
#[cfg(feature = "bms")]
#[cfg_attr(docsrs, doc(cfg(feature = "bms")))]
pub mod bms;
pub mod can;
pub mod config;
pub mod link;
pub mod logging;
pub mod mqtt;
pub mod poll;
pub mod signal;
pub mod task;
#[cfg(feature = "web")]
#[cfg_attr(docsrs, doc(cfg(feature = "web")))]
pub mod web;
