#!/usr/bin/env python3
"""The status page in a real browser: headless Debian Chromium, driven by selenium through
Debian's chromedriver, against `can-gateway --demo --web-port 0`.

Checks, in order:
1. `promtool check metrics` accepts `/metrics` (Debian's prometheus package);
2. the page renders what the gateway publishes: every value the page received is shown in a
   cell with that exact value, and the page's state matches `/api/state` fetched around it
   (same keys; names and statuses equal; numbers between the two fetches);
3. the demo's BMS drop-out (bms2 silent from 20 s on) turns bms2 stale on the page (its card
   flagged "not current"), as `/api/state` says;
4. a set point entered in the page with a wrong token is refused on the page
   (`wrong_token`) and changes nothing;
5. the same set point with the demo's token is accepted and the output limit changes
   (inv1 takes half of the stack: 20 A -> 10 A), in `/api/state` and on the page;
6. the browser logged no error (a CSP violation or a failed request would show here).

Screenshots (desktop and phone width) go to the artifact directory (argument 2).
Timeouts are failure guards only: every wait ends on an event.

Usage: test_page.py PATH/TO/can-gateway ARTIFACT_DIR
Prints one ok/FAIL line per check and "N passed, M failed"; exits 1 on any failure.
"""

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

GUARD_S = 90  # failure guard for any one wait
PASSED, FAILED = [], []


def check(name, ok, detail=""):
    (PASSED if ok else FAILED).append(name)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + str(detail)}", flush=True)
    return ok


def wait_for(what, f, guard=GUARD_S, every=0.1):
    t0 = time.monotonic()
    while True:
        v = f()
        if v:
            return v
        if time.monotonic() - t0 > guard:
            raise TimeoutError(f"never: {what}")
        time.sleep(every)


def get(base, path, token=None):
    req = urllib.request.Request(base + path)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read().decode()


def state(base):
    return json.loads(get(base, "/api/state"))


def leaves(v, path=""):
    """Paths as the page names them: array elements by their `name`, else their index."""
    out = {}
    if isinstance(v, dict):
        if set(v) == {"raw", "flags"}:
            out[path] = v
            return out
        for k, x in v.items():
            out.update(leaves(x, f"{path}.{k}" if path else k))
    elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
        for i, x in enumerate(v):
            out.update(leaves(x, f"{path}.{x.get('name', i)}"))
    else:
        out[path] = v
    return out


def between(x, a, b, key):
    """`x` (the page) against `a` (before) and `b` (after)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not all(
        isinstance(y, (int, float)) and not isinstance(y, bool) for y in (a, b)
    ):
        return x in (a, b)
    lo, hi = min(a, b), max(a, b)
    # The page's snapshot can be up to one event (<= 1 s) older than `before`: ages may be
    # that much off, measurements move a little in that time.
    tol = 1.5 if key.endswith("_s") else 0.02 * max(abs(lo), abs(hi)) + 0.5
    return lo - tol <= x <= hi + tol


def page_dump(driver):
    return driver.execute_script(
        """
        const cells = {};
        for (const el of document.querySelectorAll('[data-path]'))
          cells[el.dataset.path] = { value: el.dataset.value, text: el.textContent };
        return { cells, last: window.voltwire.last, events: window.voltwire.events };
        """
    )


def main():
    binary, artifacts = Path(sys.argv[1]), Path(sys.argv[2])
    artifacts.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [str(binary), "--demo", "--web-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines, started = [], time.monotonic()
    announced = threading.Event()

    def reader():
        for line in proc.stdout:
            lines.append((time.monotonic() - started, line.rstrip()))
            if line.startswith("demo: status page at "):
                announced.set()

    threading.Thread(target=reader, daemon=True).start()
    profile = tempfile.mkdtemp(prefix="voltwire-chromium-")
    driver = None
    try:
        if not announced.wait(GUARD_S):
            raise RuntimeError("the demo did not announce its page")
        line = next(l for _, l in lines if l.startswith("demo: status page at "))
        base = line.split()[4].rstrip("/")
        token = line.rsplit(" ", 1)[1].rstrip(")")
        print(f"demo page {base}", flush=True)

        # 1. promtool on /metrics (after the inputs are up, so every family is there).
        wait_for("normal mode", lambda: state(base)["combined"].get("mode") == "normal")
        metrics_text = get(base, "/metrics")
        (artifacts / "metrics.txt").write_text(metrics_text)
        r = subprocess.run(["promtool", "check", "metrics"], input=metrics_text,
                           capture_output=True, text=True)
        check("promtool check metrics accepts /metrics", r.returncode == 0,
              r.stdout + r.stderr)

        opts = Options()
        opts.binary_location = "/usr/bin/chromium"
        for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                  f"--user-data-dir={profile}", "--window-size=1280,1600"]:
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        driver.get(base + "/")
        wait_for("the page's first event",
                 lambda: driver.execute_script("return window.voltwire.events") >= 1)

        # 2. Shown values: exactly what the page received; that state matches /api/state.
        before = state(base)
        seq0 = driver.execute_script("return window.voltwire.last.seq")
        wait_for("a newer event", lambda: driver.execute_script(
            "return window.voltwire.last.seq") > seq0)
        dump = page_dump(driver)
        after = state(base)
        got = leaves(dump["last"]["state"])
        cells = dump["cells"]
        missing = [p for p in got if p not in cells]
        wrong = [p for p in got if p in cells and json.loads(cells[p]["value"]) != got[p]]
        check("every value the page received is shown, unchanged", not missing and not wrong,
              f"missing {missing[:5]}, different {[(p, cells[p], got[p]) for p in wrong[:5]]}")
        units = cells.get("combined.voltage_v", {}).get("text", "")
        check("values carry their unit", units.endswith("V") and cells.get(
            "combined.soc_pct", {}).get("text", "").endswith("%"), units)
        b, a = leaves(before), leaves(after)
        keys_ok = set(got) == set(b) == set(a)
        off = [(p, got[p], b[p], a[p]) for p in got if p in b and p in a
               and not between(got[p], b[p], a[p], p)]
        check("the page shows what /api/state says", keys_ok and not off,
              f"keys equal: {keys_ok} {set(got) ^ set(b)}; off: {off[:5]}")
        ages = driver.find_elements(By.CSS_SELECTOR, "[data-age-of]")
        check("every card shows its data age", len(ages) == 6 and all(
            " s " in e.text for e in ages), [e.text for e in ages])
        driver.save_screenshot(str(artifacts / "1-normal.png"))

        # 3. bms2 goes silent at 20 s: stale in the API, then on the page.
        def api_stale():
            return state(base)["inputs"][1]["status"] == "stale"

        def page_stale():
            return driver.execute_script(
                """const c = document.querySelector('[data-card="inputs.bms2"]');
                   const s = document.querySelector('[data-path="inputs.bms2.status"]');
                   return !!c && c.classList.contains('stale') && !!s && s.textContent === 'stale';""")

        wait_for("bms2 stale in /api/state", api_stale, every=0.05)
        t_api = time.monotonic()
        wait_for("bms2 stale on the page", page_stale, every=0.05)
        lag = time.monotonic() - t_api
        silent_at = next((t for t, l in lines if l.startswith("demo: bms2 goes silent")), -1.0)
        check("the BMS drop-out turns bms2 stale on the page", page_stale())
        print(f"     (demo said silent at {silent_at:.1f} s; page showed stale {lag:.2f} s "
              f"after /api/state did; not asserted)", flush=True)
        others_ok = driver.execute_script(
            """return ['inputs.bms1', 'inputs.bms3'].every(
                 c => !document.querySelector(`[data-card="${c}"]`).classList.contains('stale'));""")
        check("the other inputs stay current on the page", others_ok)
        driver.save_screenshot(str(artifacts / "2-bms2-stale.png"))

        # 4. A set point with a wrong token: refused on the page, nothing changes.
        sp_before = state(base)["combined"]["setpoints"]
        tok = driver.find_element(By.ID, "token")
        tok.clear()
        tok.send_keys("0123456789abcdef-not-the-token")
        driver.find_element(By.ID, "f0-charge_current_limit_a").send_keys("20")
        driver.find_element(By.ID, "f0-ttl_s").send_keys("120")
        driver.find_element(By.ID, "b0").click()
        result = driver.find_element(By.ID, "cmd-result")
        wait_for("the refusal on the page", lambda: "err" in result.get_attribute("class"))
        check("a wrong token is refused on the page",
              "wrong_token" in result.text and "401" in result.text, result.text)
        sp_after = state(base)["combined"]["setpoints"]
        check("the refused set point changed nothing",
              sp_before == sp_after and sp_after["charge_current_limit_a"] is None,
              (sp_before, sp_after))
        driver.save_screenshot(str(artifacts / "3-wrong-token.png"))

        # 5. The same with the right token: accepted, the output limit follows.
        tok.clear()
        tok.send_keys(token)
        driver.find_element(By.ID, "b0").click()
        wait_for("the acceptance on the page", lambda: "ok" in result.get_attribute("class"))
        check("the set point is accepted on the page", "accepted" in result.text, result.text)
        s = wait_for("inv1 told 10 A", lambda: (lambda s: s if s["outputs"][0]["state"][
            "charge_current_limit_a"] == 10.0 else None)(state(base)))
        check("the output limit changed (20 A x 0.5 = 10 A at inv1)",
              s["combined"]["setpoints"]["charge_current_limit_a"] == 20.0, s["combined"])
        wait_for("10 A on the page", lambda: driver.execute_script(
            """const c = document.querySelector('[data-path="outputs.inv1.state.charge_current_limit_a"]');
               return !!c && c.dataset.value === '10';"""))
        check("the page shows inv1's new limit", True)
        driver.save_screenshot(str(artifacts / "4-setpoint.png"))
        # A phone (390 x 844 CSS px, mobile viewport): nothing wider than the screen.
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
        widths = wait_for("the phone layout", lambda: (lambda w: w if w[0] == 390 else None)(
            driver.execute_script("return [document.documentElement.clientWidth,"
                                  " document.documentElement.scrollWidth]")))
        check("readable on a phone: no sideways scrolling", widths[1] <= widths[0], widths)
        driver.save_screenshot(str(artifacts / "5-phone.png"))

        # 6. No error in the browser's console.
        # The refused command's 401 (step 4) is logged by Chromium as a failed resource:
        # expected; anything else is an error.
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"
                  and not ("/api/command" in e.get("message", "")
                           and "status of 401" in e.get("message", ""))]
        check("no error in the browser console", not errors, errors[:3])
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        check("the browser test ran to the end", False, repr(e))
        if driver is not None:
            try:
                driver.save_screenshot(str(artifacts / "failure.png"))
            except Exception:  # noqa: BLE001
                pass
    finally:
        if driver is not None:
            driver.quit()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
    print(f"{len(PASSED)} passed, {len(FAILED)} failed; screenshots in {artifacts}", flush=True)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
