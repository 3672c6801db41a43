#!/usr/bin/env python3
"""Checks a running broker with paho-mqtt 2.x over MQTT 3.1.1 and 5.0.

Usage: paho_check.py --host HOST --port PORT

Prints one line per check, then "N passed, N failed"; exits 1 if any check failed.
Every wait is on a callback with a timeout; nothing sleeps to synchronize.
"""

import argparse
import queue
import sys
import threading
import traceback
import uuid

try:
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
except ImportError as error:
    print(f"paho-mqtt is not importable ({error}): pip install 'paho-mqtt>=2,<3'")
    sys.exit(1)

if not hasattr(mqtt, "CallbackAPIVersion"):
    print(f"paho-mqtt 2.x is required, found {getattr(mqtt, '__version__', 'an older version')}")
    sys.exit(1)

TIMEOUT = 10.0
PROTOCOLS = {"v3.1.1": mqtt.MQTTv311, "v5": mqtt.MQTTv5}


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def wait(event, what):
    if not event.wait(TIMEOUT):
        raise CheckFailed(f"timed out waiting for {what}")


class Peer:
    """A paho client whose events are turned into threading.Events and a message queue."""

    def __init__(self, args, protocol, client_id="", clean=True, expiry=None):
        self.args = args
        self.protocol = protocol
        self.clean = clean
        self.expiry = expiry
        kwargs = {"client_id": client_id, "protocol": protocol}
        if protocol == mqtt.MQTTv311:
            kwargs["clean_session"] = clean
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **kwargs)
        self.connected = threading.Event()
        self.connack = None
        self.messages = queue.Queue()
        self.subacks = {}
        self.subacked = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.looping = False

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.connack = (flags.session_present, reason_code)
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        with self.subacked:
            self.subacks[mid] = [code.value for code in reason_codes]
            self.subacked.notify_all()

    def _on_message(self, client, userdata, message):
        self.messages.put(message)

    def connect_args(self):
        kwargs = {"keepalive": 30}
        if self.protocol == mqtt.MQTTv5:
            kwargs["clean_start"] = self.clean
            if self.expiry is not None:
                properties = Properties(PacketTypes.CONNECT)
                properties.SessionExpiryInterval = self.expiry
                kwargs["properties"] = properties
        return kwargs

    def start(self):
        """Connects with a background network loop; returns the session present flag."""
        self.client.connect(self.args.host, self.args.port, **self.connect_args())
        self.client.loop_start()
        self.looping = True
        return self._connack()

    def _connack(self):
        wait(self.connected, "CONNACK")
        session_present, reason = self.connack
        expect(not reason.is_failure, f"connection refused: {reason}")
        return session_present

    def subscribe(self, topic, qos):
        result, mid = self.client.subscribe(topic, qos)
        expect(result == mqtt.MQTT_ERR_SUCCESS, f"subscribe failed: {mqtt.error_string(result)}")
        # The SUBACK may be handled before subscribe() returns the mid: the callback records
        # every SUBACK by mid and this waits until the one for `mid` is there.
        with self.subacked:
            arrived = self.subacked.wait_for(lambda: mid in self.subacks, TIMEOUT)
        expect(arrived, f"timed out waiting for the SUBACK for {topic}")
        granted = self.subacks[mid]
        expect(granted == [qos], f"SUBACK for {topic}: expected granted QoS [{qos}], got {granted}")

    def publish(self, topic, payload, qos, retain=False):
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        expect(info.rc == mqtt.MQTT_ERR_SUCCESS, f"publish failed: {mqtt.error_string(info.rc)}")
        # Returns once the QoS flow is complete (PUBACK or PUBCOMP; QoS 0: written).
        info.wait_for_publish(TIMEOUT)
        expect(info.is_published(), f"publish to {topic} at QoS {qos} not acknowledged in time")

    def next_message(self, what):
        try:
            return self.messages.get(timeout=TIMEOUT)
        except queue.Empty:
            raise CheckFailed(f"timed out waiting for {what}") from None

    def expect_message(self, topic, payload, qos, retain):
        message = self.next_message(f"a message on {topic}")
        expected = {"topic": topic, "payload": payload, "qos": qos, "retain": bool(retain)}
        got = {"topic": message.topic, "payload": message.payload, "qos": message.qos, "retain": bool(message.retain)}
        wrong = [f"{key} {short(got[key])} (expected {short(expected[key])})" for key in expected if got[key] != expected[key]]
        expect(not wrong, "message on " + topic + ": wrong " + ", ".join(wrong))

    def stop(self):
        """A clean DISCONNECT, waiting for the network loop to end."""
        if self.looping:
            self.client.disconnect()
            self.client.loop_stop()
            self.looping = False


def short(value):
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}... ({len(value)} bytes)"


def unique(name):
    return f"paho/{name}/{uuid.uuid4().hex[:12]}"


def payload(tag):
    # Binary bytes, including NUL and non-UTF-8, and long enough for a two-byte length.
    return tag.encode() + b"\x00\xff\xfe" + bytes(range(256))


def check_qos(args, protocol, qos):
    topic = unique(f"qos{qos}")
    sub = Peer(args, protocol)
    pub = Peer(args, protocol)
    try:
        sub.start()
        sub.subscribe(topic, qos)
        pub.start()
        body = payload(f"qos {qos}")
        pub.publish(topic, body, qos)
        sub.expect_message(topic, body, qos, False)
    finally:
        pub.stop()
        sub.stop()


def check_retained(args, protocol):
    topic = unique("retained")
    body = payload("retained")
    pub = Peer(args, protocol)
    late = Peer(args, protocol)
    try:
        pub.start()
        pub.publish(topic, body, 1, retain=True)
        late.start()
        late.subscribe(topic, 1)
        late.expect_message(topic, body, 1, True)
        # Clear it so the broker's retained store is left as found.
        pub.publish(topic, b"", 1, retain=True)
    finally:
        pub.stop()
        late.stop()


def check_will(args, protocol):
    topic = unique("will")
    watcher = Peer(args, protocol)
    dying = Peer(args, protocol, client_id=unique("will-client").replace("/", "-"))
    try:
        watcher.start()
        watcher.subscribe(topic, 1)
        dying.client.will_set(topic, b"went away", qos=1)
        # The dying client runs no background loop thread: it is driven by hand until its
        # CONNACK arrives, then its socket is closed directly. Nothing else touches the
        # socket, so no DISCONNECT can be sent, and the broker sees a plain TCP close --
        # the same as a crashed client, without the cost of a subprocess.
        dying.client.connect(args.host, args.port, **dying.connect_args())
        for _ in range(int(TIMEOUT / 0.1)):
            if dying.connected.is_set():
                break
            dying.client.loop(timeout=0.1)
        dying._connack()
        dying.client.socket().close()
        watcher.expect_message(topic, b"went away", 1, False)
    finally:
        watcher.stop()


def check_session(args, protocol):
    topic = unique("session")
    client_id = unique("session-client").replace("/", "-")
    body = payload("queued while away")
    # 3.1.1: clean_session=False. 5.0: clean_start=False and a session expiry interval.
    first = Peer(args, protocol, client_id=client_id, clean=False, expiry=300)
    pub = Peer(args, protocol)
    again = Peer(args, protocol, client_id=client_id, clean=False, expiry=300)
    try:
        expect(first.start() is False, "a new session must not be reported as present")
        first.subscribe(topic, 1)
        first.stop()
        pub.start()
        pub.publish(topic, body, 1)
        expect(again.start() is True, "the resumed session must be reported as present")
        again.expect_message(topic, body, 1, False)
    finally:
        pub.stop()
        again.stop()
        # End the session so nothing is left behind on the broker (best effort).
        end = Peer(args, protocol, client_id=client_id, clean=True, expiry=0)
        try:
            end.start()
            end.stop()
        except (CheckFailed, OSError):
            pass


def checks():
    for name, protocol in PROTOCOLS.items():
        for qos in (0, 1, 2):
            yield f"{name} publish/subscribe QoS {qos}", lambda a, p=protocol, q=qos: check_qos(a, p, q)
        yield f"{name} retained message", lambda a, p=protocol: check_retained(a, p)
        yield f"{name} will on abrupt disconnect", lambda a, p=protocol: check_will(a, p)
        yield f"{name} persistent session resume", lambda a, p=protocol: check_session(a, p)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    args = parser.parse_args()

    passed = failed = 0
    for name, check in checks():
        try:
            check(args)
        except CheckFailed as error:
            failed += 1
            print(f"FAIL {name}: {error}", flush=True)
        except OSError as error:
            failed += 1
            print(f"FAIL {name}: {type(error).__name__}: {error}", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL {name}: unexpected error", flush=True)
            traceback.print_exc(file=sys.stdout)
        else:
            passed += 1
            print(f"ok   {name}", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
