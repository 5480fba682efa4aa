#!/usr/bin/python3
"""python_client.py - the official python-socketio 5.x client against a
running gateway (spawned by channels.test.mjs, which started everything).

Usage: python_client.py <gateway url> <listen key> <publisher url> <publish key>
Connects with auth {"apiKey"}, listens to a channel (with an ack), publishes
over the REST API and waits for the event. Exit 0 on success, 1 otherwise.
"""
import json
import sys
import threading
import urllib.request

import socketio

CHANNEL = "py.channel"
TIMEOUT = 10


def main():
    gw_url, key, pub_url, pub_key = sys.argv[1:5]
    sio = socketio.Client(reconnection=False)
    got = threading.Event()
    received = []

    @sio.on("event")
    def on_event(data):
        received.append(data)
        got.set()

    sio.connect(gw_url, auth={"apiKey": key}, wait_timeout=TIMEOUT)
    ack = sio.call("listen", {"channelName": CHANNEL}, timeout=TIMEOUT)
    if not isinstance(ack, dict) or ack.get("code") != "Success":
        print("listen failed:", ack, file=sys.stderr)
        return 1
    payload = {"from": "python", "n": [1, 2.5], "u": "\u00e9"}
    req = urllib.request.Request(
        pub_url + "/v1/publishers/events/publish",
        data=json.dumps({"channelName": CHANNEL, "payload": payload}).encode(),
        headers={"Authorization": "Bearer " + pub_key,
                 "Content-Type": "application/json"},
        method="POST")
    with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
        if r.status != 201:
            print("publish failed:", r.status, file=sys.stderr)
            return 1
    if not got.wait(TIMEOUT):
        print("no event received", file=sys.stderr)
        return 1
    sio.disconnect()
    want = {"channelName": CHANNEL, "payload": payload}
    if received != [want]:
        print("unexpected events:", received, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # any failure is a test failure, with its reason
        print("error:", repr(e), file=sys.stderr)
        sys.exit(1)
