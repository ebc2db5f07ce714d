#!/bin/sh
# Creates the spout and processor pipelines (Pachyderm's `make deploy`). The local executor runs
# commands on the host, so the specs name this folder's scripts by absolute path: they are
# templated here. SPOUT_MIN_INTERVAL / SPOUT_MAX_INTERVAL (seconds, default 10 and 30) set how
# often the spout emits. With PYTHON_PACHYDERM set (a PYTHONPATH holding python-pachyderm), the
# spout is seed 002's own consumer on python-pachyderm over gRPC, run by PYTHON (default python3:
# the interpreter whose grpcio and protobuf python-pachyderm uses); otherwise the stdlib HTTP one.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# The project's own CLI unless PACHCTL names another (an installed `pachctl`, say).
pachctl=${PACHCTL:-"node $here/../../bin/sluice.js"}
export EXAMPLE_DIR="$here"
export SPOUT_MIN_INTERVAL="${SPOUT_MIN_INTERVAL:-10}"
export SPOUT_MAX_INTERVAL="${SPOUT_MAX_INTERVAL:-30}"
export PYTHON="${PYTHON:-python3}"
spout=spout
if [ -n "${PYTHON_PACHYDERM:-}" ]; then spout=spout-python-pachyderm; fi
for spec in $spout processor; do
  sed -e "s#\${EXAMPLE_DIR}#$EXAMPLE_DIR#g" \
      -e "s#\${SPOUT_MIN_INTERVAL}#$SPOUT_MIN_INTERVAL#g" \
      -e "s#\${SPOUT_MAX_INTERVAL}#$SPOUT_MAX_INTERVAL#g" \
      -e "s#\${PYTHON_PACHYDERM}#${PYTHON_PACHYDERM:-}#g" \
      -e "s#\${PYTHON}#$PYTHON#g" \
      "$here/pipelines/$spec.json" > "${TMPDIR:-/tmp}/spout101-$spec.json"
  $pachctl create pipeline -f "${TMPDIR:-/tmp}/spout101-$spec.json"
done
