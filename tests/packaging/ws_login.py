#!/usr/bin/env python3
"""ws_login.py PORT [PATH]: open a WebSocket to 127.0.0.1:PORT and print the
server's first message, which must be a `login` with a userId. Standard
library only, so it runs wherever python3 does; every read times out."""
import base64
import hashlib
import json
import os
import socket
import struct
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def main():
    port = int(sys.argv[1])
    path = sys.argv[2] if len(sys.argv) > 2 else "/"
    key = base64.b64encode(os.urandom(16))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + b"\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += read_exactly(sock, 1)
            if len(head) > 16384:
                raise ValueError("handshake answer too long")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise ValueError(f"expected 101 Switching Protocols, got {status!r}")
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        if b"sec-websocket-accept: " + accept.lower() not in head.lower():
            raise ValueError("wrong or missing Sec-WebSocket-Accept")

        first, second = read_exactly(sock, 2)
        if first & 0x0F != 1:
            raise ValueError(f"expected a text frame, got opcode {first & 0x0F}")
        length = second & 0x7F
        if length == 126:
            length = struct.unpack(">H", read_exactly(sock, 2))[0]
        elif length == 127:
            length = struct.unpack(">Q", read_exactly(sock, 8))[0]
        message = json.loads(read_exactly(sock, length))
        if message.get("type") != "login" or not isinstance(message.get("userId"), int):
            raise ValueError(f"expected a login with a userId, got {message}")
        print(json.dumps(message))
        # A masked close frame, 1000: leave politely.
        mask = os.urandom(4)
        payload = struct.pack(">H", 1000)
        sock.sendall(bytes([0x88, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # noqa: BLE001 - any failure is the test's failure
        print(f"ws_login: {error}", file=sys.stderr)
        sys.exit(1)
