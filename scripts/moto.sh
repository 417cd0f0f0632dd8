# shellcheck shell=bash
# Starts an AWS-compatible test server (moto in server mode) on loopback for the tests, and stops it
# when the sourcing shell exits (success, failure or interrupt). Source it, do not run it:
#
#   source scripts/moto.sh
#
# It installs moto once into a virtual environment under target/moto-venv (override with
# BROOD_MOTO_VENV) and the AWS CLI (the one the user data calls on an instance) into another under
# target/awscli-venv (override with BROOD_AWSCLI_VENV), starts `moto_server` on a free port of
# 127.0.0.1, waits until it answers, and exports for the tests:
#   AWS_ENDPOINT_URL=http://127.0.0.1:<port>   where every SDK client goes (never real AWS)
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY     fake static credentials (moto checks none)
#   AWS_REGION, AWS_DEFAULT_REGION=us-east-1
#   BROOD_MOTO_PID                              the server's process id
#   BROOD_AWS_CLI                               the AWS CLI's `aws` (the user data test runs it)
#   BROOD_MOTO_SERVER                           the moto_server program, for tests that start a
#                                               server of their own (IAM enforcement)
# The server's log is target/moto-server.log. Use 127.0.0.1, not localhost: with localhost the S3
# client would address buckets as virtual hosts (bucket.localhost), which does not resolve.

brood_moto_start() {
  local root venv cli port log i
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  venv="${BROOD_MOTO_VENV:-$root/target/moto-venv}"
  log="$root/target/moto-server.log"
  mkdir -p "$root/target"

  if [ ! -x "$venv/bin/moto_server" ]; then
    echo "== installing moto[server]==5.2.5 into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.5'
  fi
  # A venv of its own: the CLI pins its botocore, moto wants its own.
  cli="${BROOD_AWSCLI_VENV:-$root/target/awscli-venv}"
  if [ ! -x "$cli/bin/aws" ]; then
    echo "== installing awscli==1.46.2 into $cli"
    python3 -m venv "$cli"
    "$cli/bin/pip" install --quiet --disable-pip-version-check 'awscli==1.46.2'
  fi
  export BROOD_AWS_CLI="$cli/bin/aws"

  # A free port: bind port 0, read what the kernel chose, release it.
  port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"

  "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  BROOD_MOTO_PID=$!
  export BROOD_MOTO_PID
  trap brood_moto_stop EXIT
  trap 'brood_moto_stop; exit 130' INT
  trap 'brood_moto_stop; exit 143' TERM

  for i in $(seq 1 100); do
    if "$venv/bin/python" -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1).status == 200 else 1)" 2>/dev/null; then
      break
    fi
    if ! kill -0 "$BROOD_MOTO_PID" 2>/dev/null; then
      echo "moto_server exited before it answered; its log ($log):" >&2
      cat "$log" >&2
      return 1
    fi
    if [ "$i" = 100 ]; then
      echo "moto_server did not answer on 127.0.0.1:$port within 10 s; its log ($log):" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done

  export BROOD_MOTO_SERVER="$venv/bin/moto_server"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  export AWS_ACCESS_KEY_ID=testing
  export AWS_SECRET_ACCESS_KEY=testing
  export AWS_REGION=us-east-1
  export AWS_DEFAULT_REGION=us-east-1
  # Never let a developer's own profile or config reach the tests.
  unset AWS_PROFILE AWS_SESSION_TOKEN
  echo "== moto server on $AWS_ENDPOINT_URL (pid $BROOD_MOTO_PID)"
}

brood_moto_stop() {
  if [ -n "${BROOD_MOTO_PID:-}" ] && kill -0 "$BROOD_MOTO_PID" 2>/dev/null; then
    kill "$BROOD_MOTO_PID" 2>/dev/null || true
    wait "$BROOD_MOTO_PID" 2>/dev/null || true
  fi
  BROOD_MOTO_PID=
}

brood_moto_start
