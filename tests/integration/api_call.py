"""One request to the dispatcher's websocket API, for the shell tests (ops goldlinectl has no
command for): prints the reply as JSON and exits 0 if it says ok.

    api_call.py PORT TOKEN OP '{"arg": ...}'
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_client import WS  # noqa: E402

port, token, op = int(sys.argv[1]), sys.argv[2], sys.argv[3]
args = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
w = WS("127.0.0.1", port)
if not w.call("hello", token=token).get("ok"):
    sys.exit("hello refused")
r = w.call(op, **args)
print(json.dumps(r, ensure_ascii=False))
sys.exit(0 if r.get("ok") else 1)
