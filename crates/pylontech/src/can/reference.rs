//! Reference frames from real captures, for tests and examples that need a known-good burst.
//!
//! The bytes are copied verbatim from the files in `testdata/pylontech/can/`; the capture
//! tests check that those files decode as expected, so these constants stay in step with them.

/// One complete burst of a Pylontech BMS gateway, in the order it was sent: `(id, data)` for
/// 0x359, 0x351, 0x355, 0x356, 0x35C, 0x35E and 0x373.
///
/// From `testdata/pylontech/can/bms-gateway-5-module-stack.log` (first burst): 56.3 V / 922.5 A
/// limits, SOC 80 %, SOH 100 %, 52.91 V, −80.1 A, 20.4 °C, five modules, no alarms.
pub const BMS_GATEWAY_BURST: [(u16, &[u8]); 7] = [
    (0x359, &[0, 0, 0, 0, 5, 0x50, 0x4E, 0]),
    (0x351, &[0x33, 0x02, 0x09, 0x24, 0x09, 0x24, 0xD5, 0x01]),
    (0x355, &[0x50, 0, 0x64, 0, 0, 0, 0, 0]),
    (0x356, &[0xAB, 0x14, 0xDF, 0xFC, 0xCC, 0, 0, 0]),
    (0x35C, &[0xC0, 0, 0, 0, 0, 0, 0, 0]),
    (0x35E, b"PYLON\0\0\0"),
    (0x373, &[0xD8, 0x0C, 0xF1, 0x0C, 0x22, 0x01, 0x2A, 0x01]),
];
