"""Checks of users, roles, sessions and rate limits against a running dispatcher (called by
tests/integration/auth.sh, which has created the users alice/dispatcher, edu/ed of H1 and
carl/call_taker). Prints one "ok"/"not ok" line per check; the session tokens it obtained go
to the file named by argv[3], for the checks that follow a restart."""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from ws_client import WS  # noqa: E402

port, token, tokens_out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
failed = 0


def check(desc, cond):
    global failed
    print(("ok - " if cond else "not ok - ") + desc, flush=True)
    failed += 0 if cond else 1


def login(user, password):
    ws = WS("127.0.0.1", port)
    return ws, ws.call("hello", username=user, password=password)


def code(r):
    return None if r.get("ok") else r["error"]["code"]


# The operator token is the role admin.
op = WS("127.0.0.1", port)
r = op.call("hello", token=token)
check("the operator token is accepted as admin", r["ok"] and r["result"]["role"] == "admin")

ws, r = login("alice", "alice-pw-1")
check("alice logs in with her password: a session, role dispatcher, an expiry",
      r["ok"] and r["result"]["role"] == "dispatcher" and len(r["result"]["session"]) == 64
      and "expires_at" in r["result"])
alice_session = r["result"]["session"]
r = ws.call("call.new", lat=28.29, lon=117.24, complaint="chest_pain", priority=2)
check("alice (dispatcher) may call.new", r["ok"])
inc = r["result"]["incident"]["id"]
check("alice may not vehicle.add (EACCES)",
      code(ws.call("vehicle.add", vehicle="X-1", kind="ALS", capabilities=[])) == "EACCES")
check("alice may not user.add (EACCES)",
      code(ws.call("user.add", username="mallory", role="admin", password="x")) == "EACCES")
check("alice may not read stats (EACCES), and the connection stays open",
      code(ws.call("stats")) == "EACCES" and ws.call("fleet")["ok"])

ws2, r = login("alice", "wrong")
check("a wrong password is refused (EACCES) and the connection closed",
      code(r) == "EACCES" and ws2.closed())
ws2, r = login("nobody", "alice-pw-1")
check("an unknown user is refused the same way", code(r) == "EACCES" and ws2.closed())

ws3 = WS("127.0.0.1", port)
r = ws3.call("hello", session=alice_session)
check("the session token opens a new connection", r["ok"] and r["result"]["user"] == "alice")
ws4 = WS("127.0.0.1", port)
r = ws4.call("hello", session="0" * 64)
check("a made-up session is refused", code(r) == "EACCES" and ws4.closed())

ed, r = login("edu", "edu-pw")
check("edu logs in as ed of H1", r["ok"] and r["result"]["role"] == "ed"
      and r["result"]["hospital"] == "H1")
check("an ED user may not call.new",
      code(ed.call("call.new", lat=28.29, lon=117.24, complaint="stroke")) == "EACCES")
check("an ED user may not assign",
      code(ed.call("assign", incident=inc, vehicle="T-01")) == "EACCES")
r = ed.call("incidents", all=True)
check("an ED user sees no patient not bound for its hospital (incidents)",
      r["ok"] and r["result"]["incidents"] == [])
check("... nor its timeline (ENOENT, as if it did not exist)",
      code(ed.call("timeline", incident=inc)) == "ENOENT")
check("alice does see it", any(i["id"] == inc for i in
                               ws.call("incidents")["result"]["incidents"]))

# Pushed events: the ED user hears of units, but not of a patient bound elsewhere.
check("an ED user may subscribe", ed.call("subscribe")["ok"])
check("alice subscribes too", ws.call("subscribe")["ok"])
r = ws.call("call.new", lat=28.30, lon=117.25, complaint="stroke", priority=2)
seen_by_alice = ws.events
ws.s.settimeout(2)
try:
    while len(seen_by_alice) < 2:
        seen_by_alice.append(ws.recv())
except OSError:
    pass
ed.s.settimeout(2)
seen_by_ed = ed.events
try:
    while True:
        seen_by_ed.append(ed.recv())
except (OSError, EOFError):
    pass
ed.s.settimeout(15)
ws.s.settimeout(15)
check("the new call is pushed to alice but to the ED user nothing about it (%d vs %d events)"
      % (len(seen_by_alice), len(seen_by_ed)),
      r["ok"] and any(e.get("event") in ("incident", "timeline") for e in seen_by_alice)
      and not any(e.get("event") in ("incident", "timeline") for e in seen_by_ed))

ct, r = login("carl", "carl-pw")
check("carl logs in as call_taker", r["ok"] and r["result"]["role"] == "call_taker")
carl_session = r["result"]["session"]
check("a call_taker may not vehicle.add",
      code(ct.call("vehicle.add", vehicle="X-2", kind="BLS", capabilities=[])) == "EACCES")
check("a call_taker may not assign", code(ct.call("assign", incident=inc, vehicle="T-01"))
      == "EACCES")
r = ct.call("logout")
check("logout ends carl's session", r["ok"] and ct.closed())
ws5 = WS("127.0.0.1", port)
check("carl's session is gone after logout",
      code(ws5.call("hello", session=carl_session)) == "EACCES")

# Rate limit: 5 failures for carl, then even the right password is refused for a while.
codes = []
for i in range(5):
    w, r = login("carl", "guess-%d" % i)
    codes.append(code(r))
w, r = login("carl", "carl-pw")
check("after 5 wrong passwords carl is locked out, even with the right one (EAGAIN)",
      codes == ["EACCES"] * 5 and code(r) == "EAGAIN")
w, r = login("alice", "alice-pw-1")
check("the lockout is per user: alice still logs in", r["ok"])

with open(tokens_out, "w") as f:
    f.write(alice_session + "\n" + inc + "\n")
print("incident", inc)
sys.exit(1 if failed else 0)
