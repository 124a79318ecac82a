#!/usr/bin/python3
"""A Switchboard chat peer built on aiortc, an independent WebRTC stack.

Joins a room through the server and keeps one data channel with every other
user, speaking the same signalling (docs/protocol.md) and the same channel
framing as clients/js/switchboard.js:
  {"type":"ready"}                        sent when the channel opens, and in
                                          answer to the first ready received
  {"type":"message","data":<JSON value>}  an application message

It sends full descriptions (non-trickle: aiortc gathers before
setLocalDescription returns) and accepts trickled peer-candidate messages.

    aiortc_peer.py ws://127.0.0.1:PORT/room/NAME

stdout, one JSON object a line: {"event":"login","userId":N,"users":[...]},
{"event":"connected","peerId":N}, {"event":"message","from":N,"data":...},
{"event":"left","peerId":N}, {"event":"error",...}.
stdin, one JSON object a line: {"send":<JSON value>} to everybody connected,
{"quit":true}. It also quits when stdin closes.
"""

import asyncio
import json
import sys

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp
import websockets


def loopback_only(use_ipv4, use_ipv6):
    # On a host (or network namespace) with only lo up, aioice finds no
    # address of its own; loopback is where the browsers are.
    return ["127.0.0.1"]


aioice.ice.get_host_addresses = loopback_only


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class Peer:
    def __init__(self, peer_id, initiator):
        self.id = peer_id
        self.initiator = initiator
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.channel = None
        self.ready_sent = False
        self.ready_received = False
        self.connected = False
        self.has_remote = False
        self.pending_candidates = []
        self.outbox = []


class Client:
    def __init__(self, url):
        self.url = url
        self.ws = None
        self.user_id = None
        self.peers = {}

    async def signal(self, msg):
        await self.ws.send(json.dumps(msg))

    async def run(self):
        async with websockets.connect(self.url, max_size=None) as ws:
            self.ws = ws
            stdin_task = asyncio.create_task(self.read_stdin())
            try:
                async for text in ws:
                    await self.on_signal(json.loads(text))
                    if stdin_task.done():
                        break
            finally:
                stdin_task.cancel()
                for peer in list(self.peers.values()):
                    await peer.pc.close()

    async def read_stdin(self):
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line:
                break
            command = json.loads(line)
            if command.get("quit"):
                break
            if "send" in command:
                frame = json.dumps({"type": "message", "data": command["send"]})
                for peer in self.peers.values():
                    self.deliver(peer, frame)
        await self.ws.close()

    def deliver(self, peer, frame):
        if peer.connected:
            peer.channel.send(frame)
        else:
            peer.outbox.append(frame)

    async def on_signal(self, msg):
        kind = msg.get("type")
        sender = msg.get("from")
        if kind == "login":
            self.user_id = msg["userId"]
            emit(event="login", userId=self.user_id, users=msg["users"])
            for peer_id in msg["users"]:
                await self.start_peer(peer_id)
        elif kind == "user-left":
            peer = self.peers.pop(msg["userId"], None)
            if peer:
                await peer.pc.close()
            emit(event="left", peerId=msg["userId"])
        elif kind == "error":
            emit(event="error", code=msg.get("code"), message=msg.get("message"))
        elif kind == "peer-connect":
            await self.on_offer(sender, msg["desc"])
        elif kind == "peer-response":
            peer = self.peers.get(sender)
            if peer and peer.initiator and not peer.has_remote:
                await peer.pc.setRemoteDescription(RTCSessionDescription(**msg["desc"]))
                await self.flush_candidates(peer)
        elif kind == "peer-candidate":
            peer = self.peers.get(sender)
            if peer is None or msg.get("candidate") is None:
                return
            if peer.has_remote:
                await self.add_candidate(peer, msg["candidate"])
            else:
                peer.pending_candidates.append(msg["candidate"])

    def new_peer(self, peer_id, initiator):
        peer = Peer(peer_id, initiator)
        self.peers[peer_id] = peer
        return peer

    async def start_peer(self, peer_id):
        peer = self.new_peer(peer_id, True)
        self.attach(peer, peer.pc.createDataChannel("switchboard", ordered=True))
        await peer.pc.setLocalDescription(await peer.pc.createOffer())
        desc = peer.pc.localDescription
        await self.signal({"type": "peer-connect", "to": peer_id, "desc": {"type": desc.type, "sdp": desc.sdp}})

    async def on_offer(self, peer_id, desc):
        old = self.peers.get(peer_id)
        if old:
            await old.pc.close()
        peer = self.new_peer(peer_id, False)

        @peer.pc.on("datachannel")
        def on_datachannel(channel):
            self.attach(peer, channel)

        await peer.pc.setRemoteDescription(RTCSessionDescription(**desc))
        await self.flush_candidates(peer)
        await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        local = peer.pc.localDescription
        await self.signal({"type": "peer-response", "to": peer_id, "desc": {"type": local.type, "sdp": local.sdp}})

    async def flush_candidates(self, peer):
        peer.has_remote = True
        pending, peer.pending_candidates = peer.pending_candidates, []
        for candidate in pending:
            await self.add_candidate(peer, candidate)

    async def add_candidate(self, peer, init):
        text = init.get("candidate") or ""
        if not text:
            return
        candidate = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
        candidate.sdpMid = init.get("sdpMid")
        candidate.sdpMLineIndex = init.get("sdpMLineIndex")
        try:
            await peer.pc.addIceCandidate(candidate)
        except Exception as err:  # a candidate we cannot use is not fatal
            emit(event="error", code="bad-candidate", message=str(err))

    def attach(self, peer, channel):
        peer.channel = channel

        def send_ready():
            if not peer.ready_sent and channel.readyState == "open":
                peer.ready_sent = True
                channel.send(json.dumps({"type": "ready"}))

        def maybe_connected():
            if peer.ready_received and channel.readyState == "open" and not peer.connected:
                peer.connected = True
                emit(event="connected", peerId=peer.id)
                queued, peer.outbox = peer.outbox, []
                for frame in queued:
                    channel.send(frame)

        @channel.on("open")
        def on_open():
            send_ready()
            maybe_connected()

        @channel.on("message")
        def on_message(raw):
            frame = json.loads(raw if isinstance(raw, str) else raw.decode())
            if frame.get("type") == "ready":
                if peer.ready_received:
                    return
                peer.ready_received = True
                peer.ready_sent = False  # answer the first ready
                send_ready()
                maybe_connected()
            elif frame.get("type") == "message":
                if not peer.ready_received:
                    peer.ready_received = True
                    maybe_connected()
                emit(event="message", **{"from": peer.id, "data": frame.get("data")})

        send_ready()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: aiortc_peer.py ws://HOST:PORT/[room/NAME]")
    asyncio.run(Client(sys.argv[1]).run())


if __name__ == "__main__":
    main()
