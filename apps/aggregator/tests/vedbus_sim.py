#!/usr/bin/python3
"""Peers for the aggregator's tests, written with dbus-python the way Victron's velib_python
(vedbus) does it, independent of the aggregator's Rust code.

  vedbus_sim.py ADDRESS battery NAME CCL DCL
      publish com.victronenergy.battery.NAME like dbus-serialbattery: one object per path
      with the com.victronenergy.BusItem interface, GetItems / GetValue on /, and a
      PropertiesChanged on the changed path once per second; prints "ready".
  vedbus_sim.py ADDRESS read SERVICE PATH
      read PATH of SERVICE like systemcalc's VeDbusItemImport (no introspection, GetValue
      without an interface header) and print the value.
"""
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

IFACE = "com.victronenergy.BusItem"


def wrap(v):
    if v is None:
        return dbus.Array([], signature="i")
    if isinstance(v, int):
        return dbus.Int32(v)
    if isinstance(v, float):
        return dbus.Double(v)
    return dbus.String(v)


class Item(dbus.service.Object):
    def __init__(self, bus, path, value):
        super().__init__(bus, path)
        self.value = value

    @dbus.service.method(IFACE, out_signature="v")
    def GetValue(self):
        return wrap(self.value)

    @dbus.service.method(IFACE, out_signature="v")
    def GetText(self):
        return dbus.String(str(self.value))

    @dbus.service.method(IFACE, in_signature="v", out_signature="i")
    def SetValue(self, value):
        return 1

    @dbus.service.signal(IFACE, signature="a{sv}")
    def PropertiesChanged(self, changes):
        pass

    def set(self, value):
        self.value = value
        self.PropertiesChanged({"Value": wrap(value), "Text": str(value)})


class Root(dbus.service.Object):
    def __init__(self, bus, items):
        super().__init__(bus, "/")
        self.items = items

    @dbus.service.method(IFACE, out_signature="a{sa{sv}}")
    def GetItems(self):
        return {p: {"Value": wrap(i.value), "Text": str(i.value)} for p, i in self.items.items()}

    @dbus.service.method(IFACE, out_signature="v")
    def GetValue(self):
        return dbus.Dictionary({p[1:]: wrap(i.value) for p, i in self.items.items()}, signature="sv")


def battery(bus, name, ccl, dcl):
    paths = {
        "/Mgmt/ProcessName": "dbus-serialbattery (python peer)",
        "/Mgmt/ProcessVersion": "1.0",
        "/Mgmt/Connection": "Serial /dev/ttyPY",
        "/DeviceInstance": 2,
        "/ProductId": 0xBA77,
        "/ProductName": "SerialBattery(Python) " + name,
        "/FirmwareVersion": "1.0",
        "/HardwareVersion": "python",
        "/Connected": 1,
        "/CustomName": "",
        "/Info/MaxChargeVoltage": 55.2,
        "/Info/MaxChargeCurrent": float(ccl),
        "/Info/MaxDischargeCurrent": float(dcl),
        "/Dc/0/Voltage": 53.0,
        "/Dc/0/Current": 2.5,
        "/Dc/0/Temperature": 22.0,
        "/Soc": 50.0,
        "/Soh": 100.0,
        "/InstalledCapacity": 100.0,
        "/Capacity": 50.0,
        "/ConsumedAmphours": 50.0,
        "/TimeToGo": None,
        "/System/MinCellVoltage": 3.290,
        "/System/MaxCellVoltage": 3.310,
        "/System/MinVoltageCellId": "C5",
        "/System/MaxVoltageCellId": "C9",
        "/System/NrOfModulesOnline": 1,
        "/System/NrOfModulesOffline": 0,
        "/Io/AllowToCharge": 1,
        "/Io/AllowToDischarge": 1,
        "/Io/AllowToBalance": 1,
    }
    bus_name = dbus.service.BusName("com.victronenergy.battery." + name, bus)
    items = {p: Item(bus, p, v) for p, v in paths.items()}
    root = Root(bus, items)
    state = {"up": True}

    def tick():
        v = items["/Dc/0/Voltage"]
        v.set(round(v.value + (0.001 if state["up"] else -0.001), 3))
        state["up"] = not state["up"]
        return True

    GLib.timeout_add(1000, tick)
    print("ready", flush=True)
    return bus_name, root


def main():
    address, mode = sys.argv[1], sys.argv[2]
    DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(address)
    if mode == "battery":
        keep = battery(bus, sys.argv[3], sys.argv[4], sys.argv[5])
        GLib.MainLoop().run()
        del keep
    elif mode == "read":
        proxy = bus.get_object(sys.argv[3], sys.argv[4], introspect=False)
        print(proxy.GetValue(), flush=True)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
