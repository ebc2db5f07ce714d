#!/usr/bin/env python3
"""Pachyderm spout101's processor: logs each message into 1K.txt or 2K.txt by its size."""
import glob

for path in sorted(glob.glob('/pfs/spout/*.txt')):
    with open(path) as f:
        message = f.read()
    target = '/pfs/out/1K.txt' if len(message) <= 1024 else '/pfs/out/2K.txt'
    with open(target, 'a') as out:
        out.write(message + '\n')
    print(f'{path}: {len(message)} bytes -> {target}')
