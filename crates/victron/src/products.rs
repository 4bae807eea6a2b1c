//! Victron product IDs (`PID` label, register 0x0100) and the product names they stand for.
//!
//! The table is a fact list compiled from these sources, cross-checked against each other:
//!
//! - `/work/shared/docs/protocols/vedirect-and-can.md`, section 1.9 (PID excerpt);
//! - hoylabs/OpenDTU-OnBattery `lib/VeDirectFrameHandler/VeDirectData.cpp` (`getPidAsString`,
//!   rendered from Victron's VE.Direct Protocol 3.33 and `BlueSolar` HEX protocol documents);
//! - KinDR007/VictronMPPT-ESPHOME `components/victron/victron.cpp` (`device_type_text`);
//! - keshavdv/victron-ble `victron_ble/devices/base.py` (`MODEL_ID_MAPPING`, an older short
//!   revision and a newer revision with Victron's full product-id list);
//! - Victron's velib `inc/velib/vecan/products.h` (`VE_PROD_ID_*` defines).
//!
//! Capacities are written `volts/amps` (Victron's documents also use `volts|amps`). Where the
//! sources disagree on a name, the choice and the alternative are noted on that line.
//! Entries that only one source lists are marked as such.

/// Known products, sorted by product ID (ascending, no duplicates).
pub(crate) const PRODUCTS: &[(u16, &str)] = &[
    // VE.Can and battery monitors of the first generation.
    (0x0108, "BlueSolar Charger MPPT 150/70"), // VE.Can model; velib and victron-ble only
    (0x0200, "BMV-600S"),                      // velib and victron-ble only
    (0x0201, "BMV-602S"),                      // velib and victron-ble only
    (0x0202, "BMV-600HS"),                     // velib and victron-ble only
    (0x0203, "BMV-700"),
    (0x0204, "BMV-702"),
    (0x0205, "BMV-700H"),
    (0x0300, "BlueSolar MPPT 70/15"),
    // BlueSolar / SmartSolar MPPT with VE.Direct.
    (0xA040, "BlueSolar MPPT 75/50"),
    (0xA041, "BlueSolar MPPT 150/35"),
    (0xA042, "BlueSolar MPPT 75/15"),
    (0xA043, "BlueSolar MPPT 100/15"),
    (0xA044, "BlueSolar MPPT 100/30"),
    (0xA045, "BlueSolar MPPT 100/50"),
    (0xA046, "BlueSolar MPPT 150/70"),
    (0xA047, "BlueSolar MPPT 150/100"),
    (0xA048, "BlueSolar MPPT 75/50 rev2"),
    (0xA049, "BlueSolar MPPT 100/50 rev2"),
    (0xA04A, "BlueSolar MPPT 100/30 rev2"),
    (0xA04B, "BlueSolar MPPT 150/35 rev2"),
    (0xA04C, "BlueSolar MPPT 75/10"),
    (0xA04D, "BlueSolar MPPT 150/45"),
    (0xA04E, "BlueSolar MPPT 150/60"),
    (0xA04F, "BlueSolar MPPT 150/85"),
    (0xA050, "SmartSolar MPPT 250/100"),
    (0xA051, "SmartSolar MPPT 150/100"),
    (0xA052, "SmartSolar MPPT 150/85"),
    (0xA053, "SmartSolar MPPT 75/15"),
    (0xA054, "SmartSolar MPPT 75/10"),
    (0xA055, "SmartSolar MPPT 100/15"),
    (0xA056, "SmartSolar MPPT 100/30"),
    (0xA057, "SmartSolar MPPT 100/50"),
    (0xA058, "SmartSolar MPPT 150/35"),
    (0xA059, "SmartSolar MPPT 150/100 rev2"),
    (0xA05A, "SmartSolar MPPT 150/85 rev2"),
    (0xA05B, "SmartSolar MPPT 250/70"),
    (0xA05C, "SmartSolar MPPT 250/85"),
    (0xA05D, "SmartSolar MPPT 250/60"),
    (0xA05E, "SmartSolar MPPT 250/45"), // newer victron-ble says 250/60 (duplicate of 0xA05D); others 250/45
    (0xA05F, "SmartSolar MPPT 100/20"),
    (0xA060, "SmartSolar MPPT 100/20 48V"),
    (0xA061, "SmartSolar MPPT 150/45"),
    (0xA062, "SmartSolar MPPT 150/60"),
    (0xA063, "SmartSolar MPPT 150/70"),
    (0xA064, "SmartSolar MPPT 250/85 rev2"),
    (0xA065, "SmartSolar MPPT 250/100 rev2"),
    (0xA066, "BlueSolar MPPT 100/20"),
    (0xA067, "BlueSolar MPPT 100/20 48V"),
    (0xA068, "SmartSolar MPPT 250/60 rev2"),
    (0xA069, "SmartSolar MPPT 250/70 rev2"),
    (0xA06A, "SmartSolar MPPT 150/45 rev2"),
    (0xA06B, "SmartSolar MPPT 150/60 rev2"),
    (0xA06C, "SmartSolar MPPT 150/70 rev2"),
    (0xA06D, "SmartSolar MPPT 150/85 rev3"), // BlueSolar HEX protocol doc says rev2 (per OpenDTU); VE.Direct 3.33 and all tables say rev3
    (0xA06E, "SmartSolar MPPT 150/100 rev3"),
    (0xA06F, "BlueSolar MPPT 150/45 rev2"),
    (0xA070, "BlueSolar MPPT 150/60 rev2"),
    (0xA071, "BlueSolar MPPT 150/70 rev2"),
    (0xA072, "BlueSolar MPPT 150/45 rev3"),
    (0xA073, "SmartSolar MPPT 150/45 rev3"),
    (0xA074, "SmartSolar MPPT 75/10 rev2"),
    (0xA075, "SmartSolar MPPT 75/15 rev2"),
    (0xA076, "BlueSolar MPPT 100/30 rev3"),
    (0xA077, "BlueSolar MPPT 100/50 rev3"),
    (0xA078, "BlueSolar MPPT 150/35 rev3"), // KinDR007 and the BlueSolar HEX doc say rev2 (0xA04B is already rev2); VE.Direct 3.33, OpenDTU, victron-ble say rev3
    (0xA079, "BlueSolar MPPT 75/10 rev2"),
    (0xA07A, "BlueSolar MPPT 75/15 rev2"),
    (0xA07B, "BlueSolar MPPT 100/15 rev2"),
    (0xA07C, "BlueSolar MPPT 75/10 rev3"),
    (0xA07D, "BlueSolar MPPT 75/15 rev3"),
    (0xA07E, "SmartSolar MPPT 100/30 12V"), // KinDR007 drops "12V" ("SmartSolar Charger MPPT 100/30")
    (0xA07F, "All-In-1 SmartSolar MPPT 75/15 12V"), // OpenDTU only (VE.Direct 3.33)
    // Smart Lithium batteries (victron-ble only).
    (0xA0E0, "Smart Lithium Battery 12.8V/90Ah"),
    (0xA0E1, "Smart Lithium Battery 12.8V/60Ah"),
    (0xA0E2, "Smart Lithium Battery 12.8V/160Ah"),
    (0xA0E3, "Smart Lithium Battery 12.8V/200Ah"),
    (0xA0E4, "Smart Lithium Battery 12.8V/300Ah"),
    (0xA0E5, "Smart Lithium Battery 12.8V/100Ah"),
    (0xA0E6, "Smart Lithium Battery 12.8V/200Ah"),
    (0xA0E7, "Smart Lithium Battery 12.8V/300Ah"),
    (0xA0E8, "Smart Lithium Battery 12.8V/100Ah"),
    (0xA0E9, "Smart Lithium Battery 12.8V/150Ah"),
    (0xA0EA, "Smart Lithium Battery 25.6V/200Ah"),
    (0xA0EB, "Smart Lithium Battery 12.8V/200Ah"),
    (0xA0EC, "Smart Lithium Battery 12.8V/160Ah"), // older victron-ble: "SmartLithium Battery 12V/160Ah"
    (0xA0ED, "Smart Lithium Battery 12.8V/50Ah"),
    (0xA0EE, "Smart Lithium Battery 25.6V/200Ah"), // older victron-ble: "SmartLithium Battery 24V/200Ah"
    (0xA0EF, "Smart Lithium Battery 25.6V/100Ah"),
    (0xA0F0, "Smart Lithium Battery 12.8V/330Ah"), // older victron-ble: "SmartLithium Battery 12V/330Ah"
    (0xA0F1, "Smart Lithium Battery 25.6V/330Ah"),
    (0xA0F2, "Smart Lithium Battery 12.8V/300Ah"),
    // MPPT with VE.Can, and MPPT RS.
    (0xA101, "BlueSolar Charger MPPT 150/85"), // VE.Can model; velib and victron-ble only
    (0xA102, "SmartSolar MPPT VE.Can 150/70"),
    (0xA103, "SmartSolar MPPT VE.Can 150/45"),
    (0xA104, "SmartSolar MPPT VE.Can 150/60"),
    (0xA105, "SmartSolar MPPT VE.Can 150/85"),
    (0xA106, "SmartSolar MPPT VE.Can 150/100"),
    (0xA107, "SmartSolar MPPT VE.Can 250/45"),
    (0xA108, "SmartSolar MPPT VE.Can 250/60"),
    (0xA109, "SmartSolar MPPT VE.Can 250/70"),
    (0xA10A, "SmartSolar MPPT VE.Can 250/85"),
    (0xA10B, "SmartSolar MPPT VE.Can 250/100"),
    (0xA10C, "SmartSolar MPPT VE.Can 150/70 rev2"),
    (0xA10D, "SmartSolar MPPT VE.Can 150/85 rev2"),
    (0xA10E, "SmartSolar MPPT VE.Can 150/100 rev2"),
    (0xA10F, "BlueSolar MPPT VE.Can 150/100"),
    (0xA110, "SmartSolar MPPT RS 450/100"),
    (0xA111, "SmartSolar MPPT RS 450/200"),
    (0xA112, "BlueSolar MPPT VE.Can 250/70"),
    (0xA113, "BlueSolar MPPT VE.Can 250/100"),
    (0xA114, "SmartSolar MPPT VE.Can 250/70 rev2"),
    (0xA115, "SmartSolar MPPT VE.Can 250/100 rev2"),
    (0xA116, "SmartSolar MPPT VE.Can 250/85 rev2"),
    (0xA117, "BlueSolar MPPT VE.Can 150/100 rev2"),
    // Lynx shunts.
    (0xA130, "Lynx Ion + Shunt"), // velib and victron-ble only
    (0xA131, "Lynx Smart Shunt 1000A VE.Can"), // victron-ble only
    // Phoenix inverters (VE.Direct).
    (0xA201, "Phoenix Inverter 12V 250VA 230V"),
    (0xA202, "Phoenix Inverter 24V 250VA 230V"),
    (0xA204, "Phoenix Inverter 48V 250VA 230V"),
    (0xA211, "Phoenix Inverter 12V 375VA 230V"),
    (0xA212, "Phoenix Inverter 24V 375VA 230V"),
    (0xA214, "Phoenix Inverter 48V 375VA 230V"),
    (0xA221, "Phoenix Inverter 12V 500VA 230V"),
    (0xA222, "Phoenix Inverter 24V 500VA 230V"),
    (0xA224, "Phoenix Inverter 48V 500VA 230V"),
    (0xA231, "Phoenix Inverter 12V 250VA 230V"),
    (0xA232, "Phoenix Inverter 24V 250VA 230V"),
    (0xA234, "Phoenix Inverter 48V 250VA 230V"),
    (0xA235, "Phoenix Sun Inverter 12V 250VA 230V"), // victron-ble only
    (0xA236, "Phoenix Sun Inverter 24V 250VA 230V"), // victron-ble only
    (0xA237, "Phoenix Sun Inverter 48V 250VA 230V"), // victron-ble only
    (0xA239, "Phoenix Inverter 12V 250VA 120V"),
    (0xA23A, "Phoenix Inverter 24V 250VA 120V"),
    (0xA23C, "Phoenix Inverter 48V 250VA 120V"),
    (0xA241, "Phoenix Inverter 12V 375VA 230V"),
    (0xA242, "Phoenix Inverter 24V 375VA 230V"),
    (0xA244, "Phoenix Inverter 48V 375VA 230V"),
    (0xA249, "Phoenix Inverter 12V 375VA 120V"),
    (0xA24A, "Phoenix Inverter 24V 375VA 120V"),
    (0xA24C, "Phoenix Inverter 48V 375VA 120V"),
    (0xA251, "Phoenix Inverter 12V 500VA 230V"),
    (0xA252, "Phoenix Inverter 24V 500VA 230V"),
    (0xA254, "Phoenix Inverter 48V 500VA 230V"),
    (0xA259, "Phoenix Inverter 12V 500VA 120V"),
    (0xA25A, "Phoenix Inverter 24V 500VA 120V"),
    (0xA25C, "Phoenix Inverter 48V 500VA 120V"),
    (0xA261, "Phoenix Inverter 12V 800VA 230V"),
    (0xA262, "Phoenix Inverter 24V 800VA 230V"),
    (0xA264, "Phoenix Inverter 48V 800VA 230V"),
    (0xA269, "Phoenix Inverter 12V 800VA 120V"),
    (0xA26A, "Phoenix Inverter 24V 800VA 120V"),
    (0xA26C, "Phoenix Inverter 48V 800VA 120V"),
    (0xA271, "Phoenix Inverter 12V 1200VA 230V"),
    (0xA272, "Phoenix Inverter 24V 1200VA 230V"),
    (0xA274, "Phoenix Inverter 48V 1200VA 230V"),
    (0xA279, "Phoenix Inverter 12V 1200VA 120V"),
    (0xA27A, "Phoenix Inverter 24V 1200VA 120V"),
    (0xA27C, "Phoenix Inverter 48V 1200VA 120V"),
    (0xA281, "Phoenix Inverter 12V 1600VA 230V"), // newer victron-ble: "Smart Phoenix Inverter 12V 2000VA 230V"; KinDR007 and older victron-ble: 1600VA
    (0xA282, "Phoenix Inverter 24V 1600VA 230V"), // newer victron-ble: "Smart Phoenix Inverter 24V 2000VA 230V"
    (0xA284, "Phoenix Inverter 48V 1600VA 230V"), // newer victron-ble: "Smart Phoenix Inverter 48V 2000VA 230V"
    (0xA291, "Phoenix Inverter 12V 2000VA 230V"),
    (0xA292, "Phoenix Inverter 24V 2000VA 230V"),
    (0xA294, "Phoenix Inverter 48V 2000VA 230V"),
    (0xA299, "Phoenix Inverter 12V 2000VA 120V"), // victron-ble only
    (0xA29A, "Phoenix Inverter 24V 2000VA 120V"), // victron-ble only
    (0xA29C, "Phoenix Inverter 48V 2000VA 120V"), // victron-ble only
    (0xA2A1, "Phoenix Inverter 12V 3000VA 230V"),
    (0xA2A2, "Phoenix Inverter 24V 3000VA 230V"),
    (0xA2A4, "Phoenix Inverter 48V 3000VA 230V"),
    (0xA2A9, "Phoenix Inverter 12V 3000VA 120V"), // victron-ble only
    (0xA2AA, "Phoenix Inverter 24V 3000VA 120V"), // victron-ble only
    (0xA2AC, "Phoenix Inverter 48V 3000VA 120V"), // victron-ble only
    (0xA2B1, "Phoenix Inverter Smart 12V 5000VA 230V"), // KinDR007 only ("... 230Vac 64k")
    (0xA2B2, "Phoenix Inverter Smart 24V 5000VA 230V"), // KinDR007 adds "Vac 64k"; victron-ble "Smart Phoenix Inverter ..."
    (0xA2B4, "Phoenix Inverter Smart 48V 5000VA 230V"), // KinDR007 adds "Vac 64k"; victron-ble "Smart Phoenix Inverter ..."
    (0xA2BA, "Phoenix Inverter Smart 24V 5000VA 120V"), // victron-ble only
    (0xA2BC, "Phoenix Inverter Smart 48V 5000VA 120V"), // victron-ble only
    (0xA2E1, "Phoenix Inverter 12V 800VA 230V"), // KinDR007 (HEX spec) adds "Vac 64k HS" to 0xA2E1..0xA2FC
    (0xA2E2, "Phoenix Inverter 24V 800VA 230V"),
    (0xA2E4, "Phoenix Inverter 48V 800VA 230V"),
    (0xA2E9, "Phoenix Inverter 12V 800VA 120V"),
    (0xA2EA, "Phoenix Inverter 24V 800VA 120V"),
    (0xA2EC, "Phoenix Inverter 48V 800VA 120V"),
    (0xA2F1, "Phoenix Inverter 12V 1200VA 230V"),
    (0xA2F2, "Phoenix Inverter 24V 1200VA 230V"),
    (0xA2F4, "Phoenix Inverter 48V 1200VA 230V"),
    (0xA2F9, "Phoenix Inverter 12V 1200VA 120V"),
    (0xA2FA, "Phoenix Inverter 24V 1200VA 120V"),
    (0xA2FC, "Phoenix Inverter 48V 1200VA 120V"),
    // Blue Smart chargers (victron-ble unless noted).
    (0xA301, "Blue Smart IP65 Charger 12/10"),
    (0xA302, "Blue Smart IP65 Charger 12/15"),
    (0xA303, "Blue Smart IP65 Charger 24/8"),
    (0xA304, "Blue Smart IP65 Charger 12/5"),
    (0xA305, "Blue Smart IP65 Charger 12/7"),
    (0xA306, "Blue Smart IP65 Charger 24/5"),
    (0xA307, "Blue Smart IP65 Charger 12/4"),
    (0xA308, "Blue Smart IP65s Charger 12/4"),
    (0xA309, "Blue Smart IP65s Charger 12/5"),
    (0xA30A, "Blue Smart IP65 Charger 12/25"), // also KinDR007
    (0xA30B, "Blue Smart IP65 Charger 24/13"),
    (0xA30C, "Blue Smart IP65 Charger 6V/12V-1.1A"),
    (0xA30D, "Blue Smart IP65s Charger 12/4"),
    (0xA30E, "Blue Smart IP65s Charger 12/5"),
    (0xA30F, "Blue Smart IP65 Charger 12/7"),
    (0xA310, "Blue Smart IP67 Charger 12/7"),
    (0xA311, "Blue Smart IP67 Charger 12/13"),
    (0xA312, "Blue Smart IP67 Charger 24/5"),
    (0xA313, "Blue Smart IP67 Charger 12/17"),
    (0xA314, "Blue Smart IP67 Charger 12/25"),
    (0xA315, "Blue Smart IP67 Charger 24/8"),
    (0xA316, "Blue Smart IP67 Charger 24/12"),
    (0xA317, "Blue Smart IP67 Charger 12/7"),
    (0xA318, "Blue Smart IP67 Charger 12/13"),
    (0xA319, "Blue Smart IP67 Charger 24/5"),
    (0xA31A, "Blue Smart IP67 Charger 12/17"),
    (0xA31B, "Blue Smart IP67 Charger 12/25"),
    (0xA31C, "Blue Smart IP67 Charger 24/8"),
    (0xA31D, "Blue Smart IP67 Charger 24/12"),
    (0xA320, "Blue Smart IP22 Charger 12/15 (1)"),
    (0xA321, "Blue Smart IP22 Charger 12/15 (3)"),
    (0xA322, "Blue Smart IP22 Charger 12/20 (1)"),
    (0xA323, "Blue Smart IP22 Charger 12/20 (3)"),
    (0xA324, "Blue Smart IP22 Charger 12/30 (1)"),
    (0xA325, "Blue Smart IP22 Charger 12/30 (3)"),
    (0xA326, "Blue Smart IP22 Charger 24/8 (1)"),
    (0xA327, "Blue Smart IP22 Charger 24/8 (3)"),
    (0xA328, "Blue Smart IP22 Charger 24/12 (1)"),
    (0xA329, "Blue Smart IP22 Charger 24/12 (3)"),
    (0xA32A, "Blue Smart IP22 Charger 24/16 (1)"),
    (0xA32B, "Blue Smart IP22 Charger 24/16 (3)"),
    (0xA32C, "Blue Smart IP22 Charger 12/15 (1)"),
    (0xA32D, "Blue Smart IP22 Charger 12/15 (3)"),
    (0xA32E, "Blue Smart IP22 Charger 12/20 (1)"),
    (0xA32F, "Blue Smart IP22 Charger 12/20 (3)"),
    (0xA330, "Blue Smart IP22 Charger 12/30 (1)"),
    (0xA331, "Blue Smart IP22 Charger 12/30 (3)"),
    (0xA332, "Blue Smart IP22 Charger 24/8 (1)"), // KinDR007 (and the section 1.9 excerpt) omit "(1)"
    (0xA333, "Blue Smart IP22 Charger 24/8 (3)"),
    (0xA334, "Blue Smart IP22 Charger 24/12 (1)"), // KinDR007 omits "(1)"
    (0xA335, "Blue Smart IP22 Charger 24/12 (3)"),
    (0xA336, "Blue Smart IP22 Charger 24/16 (1)"), // KinDR007 omits "(1)"
    (0xA337, "Blue Smart IP22 Charger 24/16 (3)"),
    (0xA338, "Blue Smart IP65 Charger 12/10"),
    (0xA339, "Blue Smart IP65 Charger 12/15"),
    (0xA33A, "Blue Smart IP65 Charger 24/5"),
    (0xA33B, "Blue Smart IP65 Charger 24/8"),
    (0xA33C, "Blue Smart IP65 Charger 12/5"),
    // Phoenix Smart chargers.
    (0xA340, "Phoenix Smart IP43 Charger 12/50 (1+1)"), // newer victron-ble appends " 230V" to 0xA340..0xA347
    (0xA341, "Phoenix Smart IP43 Charger 12/50 (3)"),
    (0xA342, "Phoenix Smart IP43 Charger 24/25 (1+1)"),
    (0xA343, "Phoenix Smart IP43 Charger 24/25 (3)"),
    (0xA344, "Phoenix Smart IP43 Charger 12/30 (1+1)"),
    (0xA345, "Phoenix Smart IP43 Charger 12/30 (3)"),
    (0xA346, "Phoenix Smart IP43 Charger 24/16 (1+1)"),
    (0xA347, "Phoenix Smart IP43 Charger 24/16 (3)"),
    (0xA350, "Phoenix Smart IP43 Charger 12/50 (1+1) 120-240V"), // victron-ble only
    (0xA351, "Phoenix Smart IP43 Charger 12/50 (3) 120-240V"),   // victron-ble only
    (0xA352, "Phoenix Smart IP43 Charger 24/25 (1+1) 120-240V"), // victron-ble only
    (0xA353, "Phoenix Smart IP43 Charger 24/25 (3) 120-240V"),   // victron-ble only
    (0xA354, "Phoenix Smart IP43 Charger 12/30 (1+1) 120-240V"), // victron-ble only
    (0xA355, "Phoenix Smart IP43 Charger 12/30 (3) 120-240V"),   // victron-ble only
    (0xA356, "Phoenix Smart IP43 Charger 24/16 (1+1) 120-240V"), // victron-ble only
    (0xA357, "Phoenix Smart IP43 Charger 24/16 (3) 120-240V"),   // victron-ble only
    // BMV Smart and SmartShunt.
    (0xA380, "BMV-710 Smart"), // victron-ble only
    (0xA381, "BMV-712 Smart"),
    (0xA382, "BMV-710H Smart"),
    (0xA383, "BMV-712 Smart Rev2"), // newer victron-ble: "BMV-712 Smart" (no "Rev2")
    (0xA389, "SmartShunt 500A/50mV"),
    (0xA38A, "SmartShunt 1000A/50mV"),
    (0xA38B, "SmartShunt 2000A/50mV"),
    (0xA38C, "SmartShunt IP67 500A/50mV"),  // victron-ble only
    (0xA38D, "SmartShunt IP67 1000A/50mV"), // victron-ble only
    (0xA38E, "SmartShunt IP67 2000A/50mV"), // victron-ble only
    // Lynx Ion BMS (victron-ble only).
    (0xA391, "Lynx Ion BMS 150A"),
    (0xA392, "Lynx Ion BMS 400A"),
    (0xA393, "Lynx Ion BMS 600A"),
    (0xA394, "Lynx Ion BMS 1000A"),
    // Smart Battery Sense and Smart BatteryProtect (victron-ble only).
    (0xA3A4, "Smart Battery Sense"),
    (0xA3A5, "Smart Battery Sense (Rev2)"), // older victron-ble: "Smart Battery Sense"
    (0xA3B0, "Smart BatteryProtect 12/24V-65A"),
    (0xA3B1, "Smart BatteryProtect 12/24V-100A"),
    (0xA3B2, "Smart BatteryProtect 12/24V-220A"),
    (0xA3B3, "Smart BatteryProtect 48V-100A"),
    // Orion Smart DC-DC chargers (victron-ble only).
    (0xA3C0, "Orion Smart 12V/12V-18A Isolated DC-DC Charger"), // newer victron-ble names 0xA3C0..0xA3CF "... DC-DC Converter" and 0xA3D0..0xA3D3 "... Buck-Boost Converter"
    (0xA3C1, "Orion Smart 12V/24V-10A Isolated DC-DC Charger"),
    (0xA3C2, "Orion Smart 24V/12V-20A Isolated DC-DC Charger"),
    (0xA3C3, "Orion Smart 24V/24V-12A Isolated DC-DC Charger"),
    (0xA3C4, "Orion Smart 24V/48V-6A Isolated DC-DC Charger"),
    (0xA3C5, "Orion Smart 48V/12V-20A Isolated DC-DC Charger"),
    (0xA3C6, "Orion Smart 48V/24V-12A Isolated DC-DC Charger"),
    (0xA3C7, "Orion Smart 48V/48V-6A Isolated DC-DC Charger"),
    (0xA3C8, "Orion Smart 12V/12V-30A Isolated DC-DC Charger"),
    (0xA3C9, "Orion Smart 12V/24V-15A Isolated DC-DC Charger"),
    (0xA3CA, "Orion Smart 24V/12V-30A Isolated DC-DC Charger"),
    (0xA3CB, "Orion Smart 24V/24V-17A Isolated DC-DC Charger"),
    (0xA3CC, "Orion Smart 24V/48V-8.5A Isolated DC-DC Charger"),
    (0xA3CD, "Orion Smart 48V/12V-30A Isolated DC-DC Charger"),
    (0xA3CE, "Orion Smart 48V/24V-16A Isolated DC-DC Charger"),
    (0xA3CF, "Orion Smart 48V/48V-8.5A Isolated DC-DC Charger"), // newer victron-ble: 48V/48V-8A
    (0xA3D0, "Orion Smart 12V/12V-30A Non-isolated DC-DC Charger"),
    (0xA3D1, "Orion Smart 12V/24V-15A Non-isolated DC-DC Charger"),
    (0xA3D2, "Orion Smart 24V/12V-30A Non-isolated DC-DC Charger"),
    (0xA3D3, "Orion Smart 24V/24V-17A Non-isolated DC-DC Charger"),
    // Battery management systems (victron-ble only).
    (0xA3E0, "Smart BMS CL 12-100"),
    (0xA3E5, "Lynx Smart BMS 500"),
    (0xA3E6, "Lynx Smart BMS 1000"),
    (0xA3E8, "Smart BMS 12-200"),
    (0xA3EC, "smallBMS"),
    // Orion XS.
    (0xA3F0, "Orion XS 12V/12V-50A"), // OpenDTU and VE.Direct 3.33: "Smart BuckBoost 12V/12V-50A" (pre-launch name); KinDR007, victron-ble and Victron's product name: Orion XS
    (0xA3F1, "Orion XS 1400"),        // KinDR007 only
    // Inverter RS and Multi RS.
    (0xA401, "Inverter RS Solar 48V/6000VA/80A"), // victron-ble only
    (0xA402, "Inverter RS 48V/6000VA"),           // victron-ble only
    (0xA441, "Multi RS Solar 48V/6000VA/100A"),   // victron-ble only
    (0xA442, "Multi RS Solar 48V 6000VA 230V"),   // victron-ble: "Multi RS Solar 48V/6000VA/100A"
    (0xA443, "Multi RS Solar 48V/6000VA/100A"),   // victron-ble only
    (0xA444, "Multi RS Solar 48V/6000VA/100A"),   // victron-ble only
    // Newer battery monitors.
    (0xC030, "SmartShunt IP65 500A/50mV"), // OpenDTU-style tables: "SmartShunt 500A/50mV IP65"
    (0xC031, "SmartShunt IP65 1000A/50mV"), // victron-ble only
    (0xC032, "SmartShunt IP65 2000A/50mV"), // victron-ble only
    (0xC034, "BMV-800 Smart"),             // victron-ble only
    (0xC035, "SmartShunt IP65 500A/50mV"), // victron-ble only
    (0xC036, "SmartShunt IP65 1000A/50mV"), // victron-ble only
    (0xC037, "SmartShunt IP65 2000A/50mV"), // victron-ble only
    (0xC038, "SmartShunt 300A/50mV"), // OpenDTU only (not in Victron's documents, per its note)
];

/// Whether `table` is strictly ascending by product ID.
const fn strictly_sorted(table: &[(u16, &str)]) -> bool {
    let mut rest = table;
    while let [(id, _), tail @ ..] = rest {
        match tail {
            [(next, _), ..] if *id >= *next => return false,
            _ => rest = tail,
        }
    }
    true
}

// The binary search in `product_name` relies on this.
const _: () = assert!(
    strictly_sorted(PRODUCTS),
    "PRODUCTS must be strictly sorted"
);

/// The product name for a VE.Direct product ID, if known.
///
/// The ID is the value of the `PID` text label (e.g. `0xA053`) or of register 0x0100.
pub fn product_name(pid: u16) -> Option<&'static str> {
    PRODUCTS
        .binary_search_by_key(&pid, |&(id, _)| id)
        .ok()
        .and_then(|index| PRODUCTS.get(index))
        .map(|&(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::{PRODUCTS, product_name, strictly_sorted};

    #[test]
    fn table_is_strictly_sorted() {
        assert!(strictly_sorted(PRODUCTS));
        assert!(
            PRODUCTS
                .windows(2)
                .all(|pair| matches!(pair, [(a, _), (b, _)] if a < b))
        );
    }

    #[test]
    fn names_are_not_empty() {
        assert!(
            PRODUCTS
                .iter()
                .all(|(_, name)| !name.is_empty() && name.trim() == *name)
        );
    }

    #[test]
    fn sorted_check_rejects_bad_tables() {
        assert!(!strictly_sorted(&[(2, "b"), (1, "a")]));
        assert!(!strictly_sorted(&[(1, "a"), (1, "a")]));
        assert!(strictly_sorted(&[]));
        assert!(strictly_sorted(&[(1, "a")]));
    }

    #[test]
    fn known_products() {
        assert_eq!(product_name(0xA042), Some("BlueSolar MPPT 75/15"));
        assert_eq!(product_name(0x0203), Some("BMV-700"));
        assert_eq!(product_name(0xA389), Some("SmartShunt 500A/50mV"));
        assert_eq!(product_name(0xA053), Some("SmartSolar MPPT 75/15"));
        assert_eq!(product_name(0xA078), Some("BlueSolar MPPT 150/35 rev3"));
        assert_eq!(product_name(0xA3F0), Some("Orion XS 12V/12V-50A"));
        assert_eq!(product_name(0xA442), Some("Multi RS Solar 48V 6000VA 230V"));
    }

    #[test]
    fn first_and_last_entries_are_found() {
        for &(id, name) in PRODUCTS.first().into_iter().chain(PRODUCTS.last()) {
            assert_eq!(product_name(id), Some(name));
        }
    }

    #[test]
    fn unknown_ids() {
        assert_eq!(product_name(0x0000), None);
        assert_eq!(product_name(0xA038), None);
        assert_eq!(product_name(0xFFFF), None);
    }
}
