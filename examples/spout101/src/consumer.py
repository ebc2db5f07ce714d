#!/usr/bin/env python3
"""Spout101's consumer: emits a random 1 KiB and a random 2 KiB message at random intervals and
commits each pair to the spout's own repo.

It uses only the standard library and Sluice's HTTP API, finding the daemon the way every spout
does: PACH_CONFIG names a config file whose active context holds the daemon address and the
pipeline's token; PPS_PIPELINE_NAME names the repo. Both messages of a round go into one upload
session and land as ONE commit (a downstream pipeline sees one job per round).
"""
import hashlib
import json
import os
import random
import string
import time
import urllib.request

cfg = json.load(open(os.environ["PACH_CONFIG"]))
ctx = cfg["v2"]["contexts"][cfg["v2"]["active_context"]]
address = ctx["pachd_address"].split("://", 1)[-1]
BASE = f"http://{address}/api/v1"
TOKEN = ctx.get("session_token")
REPO = os.environ["PPS_PIPELINE_NAME"]
BRANCH = os.environ.get("SLUICE_SPOUT_OUTPUT_BRANCH") or "master"
MIN_WAIT = float(os.environ.get("SPOUT_MIN_INTERVAL", "10"))
MAX_WAIT = float(os.environ.get("SPOUT_MAX_INTERVAL", "30"))


def call(method, path, body=None, content_type="application/json"):
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", content_type)
    if TOKEN:
        req.add_header("authorization", f"Bearer {TOKEN}")
    with urllib.request.urlopen(req) as res:
        text = res.read()
        return json.loads(text) if text else None


def random_message(size):
    return "".join(random.choices(string.ascii_letters + string.digits, k=size))


while True:
    upload = call("POST", "/uploads")["id"]
    for size in (1024, 2048):
        message = random_message(size)
        name = hashlib.sha256(message.encode()).hexdigest()[:16] + ".txt"
        call("PUT", f"/uploads/{upload}/file?path=/{name}", message.encode(), "application/octet-stream")
    commit = call("POST", f"/uploads/{upload}/commit", {"repo": REPO, "ref": BRANCH})["commit"]
    print(f"committed {commit['id']} ({commit['sizeBytes']} bytes in the repo)", flush=True)
    time.sleep(random.uniform(MIN_WAIT, MAX_WAIT))
