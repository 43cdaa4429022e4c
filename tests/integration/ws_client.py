"""A minimal websocket client (RFC 6455; binary messages are kept in .binary) for the tests: enough
to speak the dispatcher's JSON API (docs/api.md) without any package beyond Python's own."""
import base64
import json
import os
import socket
import struct


class WS:
    def __init__(self, host, port, path="/api", timeout=15):
        self.s = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: goldline.v1\r\n\r\n")
                       .encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise EOFError("closed during the handshake")
            buf += chunk
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise EOFError("no upgrade: " + head.split(b"\r\n")[0].decode())
        self.next_id = 1
        self.events = []
        self.binary = []  # binary messages (live ECG frames), in arrival order

    def send(self, obj):
        data, mask = json.dumps(obj).encode(), os.urandom(4)
        n = len(data)
        hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                               bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else
                               bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """The next text message as JSON (binary ones go to self.binary); EOFError when the
        server closes."""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload, op = self._read(n), b0 & 0x0F
            if op == 8:
                raise EOFError("close frame")
            if op == 1:
                return json.loads(payload)
            if op == 2:
                self.binary.append(payload)

    def call(self, op, **args):
        """Sends {"id":N,"op":op,...} and returns the reply with that id; pushed events that
        come first are kept in self.events."""
        rid = self.next_id
        self.next_id += 1
        self.send(dict(id=rid, op=op, **args))
        while True:
            r = self.recv()
            if r.get("id") == rid:
                return r
            self.events.append(r)

    def closed(self):
        """True if the server closed the connection (within the socket timeout)."""
        try:
            self.recv()
            return False
        except (EOFError, OSError):
            return True

    def close(self):
        self.s.close()


def drain(ws, seconds):
    """Reads every message that arrives within `seconds` of quiet: text ones into ws.events,
    binary ones into ws.binary. Returns False if the server closed the connection."""
    old = ws.s.gettimeout()
    ws.s.settimeout(seconds)
    try:
        while True:
            ws.events.append(ws.recv())
    except socket.timeout:
        return True
    except (EOFError, OSError):
        return False
    finally:
        ws.s.settimeout(old)
