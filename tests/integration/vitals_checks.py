"""The live vitals relay over real sockets (called by vitals.sh): ED users of two hospitals, a
supervisor and a dispatcher log in; the assigned unit streams numerics and ECG frames (sent by
gl-uplink-inject over nanomsg); who receives what, in which order, with what bytes, is checked.

    vitals_checks.py WSPORT TOKEN INJECT UPLINK_URL VEHICLE OTHER_VEHICLE LAT LON

Prints one "ok"/"not ok" line per check.
"""
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_client import WS, drain  # noqa: E402

port, token, inject, up, vid, other, lat, lon = sys.argv[1:9]
port = int(port)
seq = int(time.time() * 1000)


def check(desc, cond):
    print(("ok - " if cond else "not ok - ") + desc, flush=True)


def login(user, pw):
    w = WS("127.0.0.1", port)
    r = w.call("hello", username=user, password=pw)
    assert r.get("ok"), r
    return w


def send(kind, vehicle=vid, index=None):
    global seq
    seq += 1
    env = dict(os.environ)
    if index is not None:
        env["GL_INJECT_ECG_INDEX"] = str(index)
    subprocess.run([inject, up, kind, vehicle, str(seq), inc], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def frame(b):
    """The documented binary layout (docs/api.md) decoded."""
    magic, header, leads, rate, spl, uv, first_ms, index, sent = struct.unpack_from(
        "<4sHHIIfddd", b, 0)
    p = 44
    a = b[p]
    incident = b[p + 1:p + 1 + a].decode()
    p += 1 + a
    v = b[p]
    vehicle = b[p + 1:p + 1 + v].decode()
    p += 1 + v
    codes = struct.unpack_from("<%dI" % leads, b, p)
    samples = struct.unpack_from("<%dh" % (leads * spl), b, header)
    return dict(magic=magic, leads=leads, rate=rate, spl=spl, uv=uv, index=int(index),
                incident=incident, vehicle=vehicle, codes=codes, samples=samples,
                size=len(b), header=header)


def events(w, kind):
    return [e for e in w.events if e.get("event") == kind]


# The operator's part: a chest-pain call, the unit assigned, the destination chosen (hospital
# HA, the nearer of two PCI centres).
op = WS("127.0.0.1", port)
assert op.call("hello", token=token)["ok"]
r = op.call("call.new", lat=float(lat), lon=float(lon), complaint="chest_pain", priority=2)
inc = r["result"]["incident"]["id"]
r = op.call("assign", incident=inc, vehicle=vid)
check("the unit is assigned", r["ok"])
r = op.call("destination", incident=inc)
check("the destination is hospital A", r["ok"] and r["result"]["incident"].get("destination") == "HA")

ed_a = login("ed_a", "ed-a-pw")
ed_b = login("ed_b", "ed-b-pw")
sup = login("sup", "sup-pw")
disp = login("disp", "disp-pw")

r = disp.call("vitals.subscribe")
check("a dispatcher may not subscribe to patient data (EACCES)",
      not r["ok"] and r["error"]["code"] == "EACCES")
r = ed_a.call("vitals.subscribe")
check("ED user of the destination hospital subscribes (nothing streams yet)",
      r["ok"] and r["result"]["incidents"] == [])
r = ed_b.call("vitals.subscribe", incident=inc)
check("ED user of another hospital cannot even name the incident (ENOENT)",
      not r["ok"] and r["error"]["code"] == "ENOENT")
r = ed_b.call("vitals.subscribe")
check("ED user of another hospital subscribes to its own patients", r["ok"])
r = sup.call("vitals.subscribe", incident=inc)
check("a supervisor subscribes to this incident", r["ok"])

r = ed_a.call("inbound")
pts = r.get("result", {}).get("patients", [])
check("inbound lists the patient for hospital A with the unit and an ETA",
      r["ok"] and len(pts) == 1 and pts[0]["incident"]["id"] == inc and
      pts[0].get("vehicle", {}).get("id") == vid and pts[0].get("eta_s", -1) >= 0 and
      pts[0]["stemi"] is False)
r = ed_b.call("inbound")
check("inbound of hospital B does not list it", r["ok"] and r["result"]["patients"] == [])

send("vitals")
N = 30
for k in range(N):
    send("ecg", index=1000 + 50 * k)
for w in (ed_a, ed_b, sup):
    drain(w, 1.5)

fa = [frame(b) for b in ed_a.binary]
check("ED A received every ECG frame, as binary messages, in order (%d of %d)" % (len(fa), N),
      [f["index"] for f in fa] == [1000 + 50 * k for k in range(N)])
check("the frames carry the documented header (GLE1, 12 leads, 500 Hz, 50 samples, 5 uV)",
      all(f["magic"] == b"GLE1" and f["leads"] == 12 and f["rate"] == 500 and f["spl"] == 50 and
          f["uv"] == 5.0 and f["incident"] == inc and f["vehicle"] == vid for f in fa) and
      len(fa) > 0 and fa[0]["codes"] == tuple(131329 + i for i in range(12)))
# Lead l of the frame at index i ramps from l*10 + i % 1000 up by one per sample.
want = [tuple(l * 10 + (f["index"] % 1000) + k for l in range(12) for k in range(50)) for f in fa]
check("the samples are the unit's values, bit for bit (delta coding undone)",
      len(fa) == N and all(f["samples"] == w for f, w in zip(fa, want)))
va = events(ed_a, "vitals")
check("ED A received the numerics with their 11073 codes (HR 88, SpO2 97, NIBP sys 135)",
      len(va) == 1 and va[0]["incident"] == inc and
      sorted((n["code"], n["value"]) for n in va[0]["numerics"]) ==
      [(147842, 88.0), (150021, 135.0), (150456, 97.0)])
check("ED B received nothing of this patient (no frame, no numerics)",
      ed_b.binary == [] and events(ed_b, "vitals") == [])
check("the supervisor received the same frames", len(sup.binary) == N)

r = ed_a.call("vitals.stats")
st = r.get("result", {})
check("vitals.stats counts what went to this session (30 frames, 1 numerics, none dropped)",
      r["ok"] and st["frames_sent"] == N and st["numerics_sent"] == 1 and
      st["frames_dropped"] == 0 and st["incidents"] == [inc])

# A screen that opens late starts with the last 10 s and the latest numerics.
late = login("ed_a", "ed-a-pw")
r = late.call("vitals.subscribe")
drain(late, 1.0)
check("a late subscriber is told what streams", r["ok"] and r["result"]["incidents"] == [inc])
check("a late subscriber gets the backlog (all %d frames, within 10 s) and the numerics" % N,
      [frame(b)["index"] for b in late.binary] == [1000 + 50 * k for k in range(N)] and
      len(events(late, "vitals")) == 1)

# Another unit cannot push data into this patient.
before = len(ed_a.binary)
send("ecg", vehicle=other, index=99000)
drain(ed_a, 1.0)
check("a frame from a unit not assigned to the incident is not relayed",
      len(ed_a.binary) == before)

# The patient is diverted: the stream moves to hospital B, which starts with the backlog.
r = disp.call("hospital.status", hospital="HA", on_diversion=True)
check("hospital A goes on diversion", r["ok"])
for w in (ed_a, ed_b):
    drain(w, 1.5)
stops = events(ed_a, "vitals.stop")
check("ED A is told the stream left it (vitals.stop, destination_changed)",
      len(stops) == 1 and stops[0]["incident"] == inc and
      stops[0]["reason"] == "destination_changed")
check("ED B now receives the patient, starting with the last 10 s",
      [frame(b)["index"] for b in ed_b.binary] == [1000 + 50 * k for k in range(N)] and
      len(events(ed_b, "vitals")) == 1)
before_a, before_b = len(ed_a.binary), len(ed_b.binary)
send("ecg", index=1000 + 50 * N)
for w in (ed_a, ed_b):
    drain(w, 1.0)
check("new frames go to B only",
      len(ed_a.binary) == before_a and len(ed_b.binary) == before_b + 1)
r = ed_b.call("inbound")
check("inbound of hospital B now lists the patient",
      r["ok"] and [p["incident"]["id"] for p in r["result"]["patients"]] == [inc])

# ED B watches everyone; it closes this one patient's stream: it stays closed.
r = ed_b.call("vitals.unsubscribe", incident=inc)
drain(ed_b, 0.5)
before_b = len(ed_b.binary)
send("ecg", index=1000 + 50 * (N + 1))
send("vitals")
drain(ed_b, 1.0)
check("watching all, one patient unsubscribed stays off (no frame, no numerics, no restart)",
      r["ok"] and len(ed_b.binary) == before_b and
      any(e.get("reason") == "unsubscribed" for e in events(ed_b, "vitals.stop")) and
      len(events(ed_b, "vitals")) == 1)

# Unsubscribing stops it.
r = sup.call("vitals.unsubscribe")
drain(sup, 0.5)
before = len(sup.binary)
send("ecg", index=1000 + 50 * (N + 2))
drain(sup, 1.0)
check("after vitals.unsubscribe the supervisor receives nothing more",
      r["ok"] and len(sup.binary) == before and
      any(e.get("reason") == "unsubscribed" for e in events(sup, "vitals.stop")))

# A closed incident leaves every session's lists: ED B (watching all) had left it out, a new
# supervisor session names it; once cancelled, neither keeps it (vitals.stats), and the one
# receiving it is told the stream stopped because the incident closed.
sup2 = login("sup", "sup-pw")
r = sup2.call("vitals.subscribe", incident=inc)
drain(sup2, 0.5)
st_b = ed_b.call("vitals.stats")["result"]
st_s = sup2.call("vitals.stats")["result"]
check("before the incident closes: ED B leaves it out, the new session names and receives it",
      r["ok"] and st_b.get("left_out") == 1 and st_s.get("named") == 1 and
      st_s.get("incidents") == [inc])
# A numeric whose code cannot be an 11073 code (above 2^31) is refused whole: nothing of that
# envelope is relayed; the next good one is.
before_v = len(events(sup2, "vitals"))
send("vitals_big_code")
drain(sup2, 0.5)
refused_whole = len(events(sup2, "vitals")) == before_v
send("vitals")
drain(sup2, 0.5)
check("vitals with an impossible code are refused whole, the next good ones relayed",
      refused_whole and len(events(sup2, "vitals")) == before_v + 1)
r = op.call("cancel", incident=inc, reason="vitals test over")
drain(sup2, 0.5)
drain(ed_b, 0.1)
st_b = ed_b.call("vitals.stats")["result"]
st_s = sup2.call("vitals.stats")["result"]
check("after it closes: no session keeps it (named 0, left_out 0, nothing streaming, told why)",
      r["ok"] and st_b.get("left_out") == 0 and st_s.get("named") == 0 and
      st_s.get("incidents") == [] and st_s.get("refused") == 0 and
      any(e.get("reason") == "closed" for e in events(sup2, "vitals.stop")))

# Leaving out a patient that does not exist (or that this user may not see) changes nothing:
# a client cannot fill its lists with made-up ids.
r = ed_b.call("vitals.unsubscribe", incident="20000101-9999")
st_b = ed_b.call("vitals.stats")["result"]
check("unsubscribing a made-up incident while watching all leaves nothing out",
      r["ok"] and st_b.get("left_out") == 0)
