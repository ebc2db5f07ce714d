#!/usr/bin/env python3
"""Spout101's consumer as Pachyderm wrote it (seed 002): python-pachyderm's `Client()` with no
arguments, one `client.commit("spout", "master")` per round, `put_file_bytes` for each message.

It runs unchanged on Sluice: inside a spout, `Client()` finds the daemon (gRPC, on the same port
as the HTTP API) and the pipeline's token through PACH_CONFIG=/pachctl/config.json, as inside
Pachyderm's workers. Only the emulated message source differs from the seed: printable
messages (the processor reads them as text) and intervals that SPOUT_MIN_INTERVAL /
SPOUT_MAX_INTERVAL can shorten.
"""
import hashlib
import os
import random
import string
import time

from python_pachyderm import Client

MIN_WAIT = float(os.environ.get("SPOUT_MIN_INTERVAL", "10"))
MAX_WAIT = float(os.environ.get("SPOUT_MAX_INTERVAL", "30"))


def receive_message():
    """Stands in for polling a queue: waits, then returns a 1 KiB and a 2 KiB message."""
    time.sleep(random.uniform(MIN_WAIT, MAX_WAIT))
    letters = string.ascii_letters + string.digits
    return tuple("".join(random.choices(letters, k=size)).encode() for size in (1024, 2048))


def main():
    print("connecting to pachd", flush=True)
    client = Client()
    print("connected", flush=True)
    while True:
        msgs = receive_message()
        if msgs:
            with client.commit("spout", "master") as c:
                for msg in msgs:
                    filename = hashlib.sha256(msg).hexdigest() + ".txt"
                    client.put_file_bytes(c, filename, msg)
            print(f"committed {c.id}", flush=True)


if __name__ == "__main__":
    main()
