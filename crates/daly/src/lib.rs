#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

mod assemble;
mod command;
mod error;
pub mod failure;
pub mod frame;
mod request;
mod response;
mod variant;

pub use assemble::{Assembler, MAX_FRAMES, Pushed, Series};
pub use command::Command;
pub use error::Error;
pub use failure::{Failure, FailureFlags};
#[cfg(feature = "tokio-codec")]
pub use frame::DalyCodec;
pub use frame::{Daly, Decoder, FRAME_LEN, Frame, RawFrame};
pub use request::{Clock, Padding, Request};
pub use response::{
    BalanceState, BatteryInfo, CellVoltageFrame, CellVoltageRange, ChargeState, Dio, Failures,
    MosfetStatus, PackStatus, RatedParameters, Response, StatusInfo, Switch, TemperatureFrame,
    TemperatureRange, TextFrame, WriteAck,
};
pub use variant::{BMS_FIRST, BalanceBitOrder, CurrentSign, HOST_RS485, HOST_UART, Variant};
