# Real brokers for the broker middleware tests (sourced by test.sh; bash).
#
#   brokers_start   starts what does not run yet, in the background, on free
#                   loopback ports, and exports the URLs the tests read:
#                   HOTMETRICS_RABBITMQ_URL (amqp://...), HOTMETRICS_NATS_URL
#                   (nats://..., JetStream on), HOTMETRICS_REDIS_URL
#                   (redis://...), HOTMETRICS_MQTT_URL (mqtt://...). A
#                   variable already set to a server that answers is kept;
#                   so is a server answering on the default port (5672,
#                   4222, 6379, 1883).
#   brokers_wait    waits until each started server answers its protocol
#                   (RabbitMQ takes seconds: start early, wait late); on a
#                   timeout it prints the server's logs and fails.
# The servers started here are stopped when the shell exits; their data and
# logs live in one temporary directory, printed at start, removed after a
# success and kept after a failure.

# `_brokers_probe KIND HOST PORT`: 0 when the server there speaks KIND:
# amqp (AMQP 0-9-1: a Connection.Start frame), nats (an INFO line), redis
# (+PONG to a PING) or mqtt (a CONNACK accepting an MQTT 3.1.1 CONNECT).
_brokers_probe() {
  python3 - "$@" <<'EOF'
import socket, sys
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    with socket.create_connection((host, port), timeout=2) as s:
        s.settimeout(2)
        if kind == "amqp":
            s.sendall(b"AMQP\x00\x00\x09\x01")
            ok = s.recv(1)[:1] == b"\x01"
        elif kind == "redis":
            s.sendall(b"PING\r\n")
            ok = s.recv(5) == b"+PONG"
        elif kind == "mqtt":
            # CONNECT: protocol "MQTT" level 4, clean session, keep-alive
            # 60 s, an empty client id; CONNACK, return code 0.
            s.sendall(bytes.fromhex("100c00044d5154540402003c0000"))
            ok = s.recv(4) == bytes.fromhex("20020000")
        else:
            ok = s.recv(4) == b"INFO"
except OSError:
    ok = False
sys.exit(0 if ok else 1)
EOF
}

# host and port of URL ("scheme://[user:pass@]host:port[/...]").
_brokers_host_port() {
  local rest=${1#*://}
  rest=${rest##*@}
  rest=${rest%%/*}
  echo "${rest%:*} ${rest##*:}"
}

_brokers_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Whether URL answers as KIND; or the default port does, then exports it.
_brokers_running() {
  local kind=$1 var=$2 default_url=$3 url
  url=${!var:-}
  if [ -n "$url" ]; then
    # shellcheck disable=SC2046
    if _brokers_probe "$kind" $(_brokers_host_port "$url"); then
      echo "== $var=$url already answers"
      return 0
    fi
    echo "== $var=$url does not answer: starting one"
  fi
  # shellcheck disable=SC2046
  if _brokers_probe "$kind" $(_brokers_host_port "$default_url"); then
    export "$var=$default_url"
    echo "== a server answers at $default_url: $var=$default_url"
    return 0
  fi
  return 1
}

_BROKERS_PIDS=()
_BROKERS_WAIT=()

# On exit: stops the servers started here and waits for them; removes
# their directory after a success, keeps it (and says where) otherwise.
_brokers_stop() {
  local rc=$? pid
  for pid in "${_BROKERS_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${_BROKERS_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$rc" = 0 ]; then
    rm -rf "$HOTMETRICS_BROKER_DIR"
  else
    echo "test.sh: the brokers' logs are in $HOTMETRICS_BROKER_DIR" >&2
  fi
}

brokers_start() {
  HOTMETRICS_BROKER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hotmetrics-brokers.XXXXXX")
  export HOTMETRICS_BROKER_DIR
  trap _brokers_stop EXIT
  local port dist dir
  if ! _brokers_running amqp HOTMETRICS_RABBITMQ_URL amqp://127.0.0.1:5672; then
    port=$(_brokers_free_port)
    dist=$(_brokers_free_port)
    dir=$HOTMETRICS_BROKER_DIR/rabbitmq
    mkdir -p "$dir/home"
    echo '[].' >"$dir/enabled_plugins"
    # The server script itself (not /usr/sbin's wrapper, which switches
    # to the rabbitmq user and its fixed directories); a node name of its
    # own, so it runs beside any other node on the machine.
    (
      cd "$dir" && HOME=$dir/home \
        RABBITMQ_NODENAME=hotmetrics-$port@localhost \
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$port \
        RABBITMQ_DIST_PORT=$dist ERL_EPMD_ADDRESS=127.0.0.1 \
        RABBITMQ_MNESIA_BASE=$dir/mnesia RABBITMQ_LOG_BASE=$dir/log \
        RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins \
        RABBITMQ_PID_FILE=$dir/pid \
        exec /usr/lib/rabbitmq/bin/rabbitmq-server >"$dir/server.log" 2>&1
    ) &
    _BROKERS_PIDS+=("$!")
    export HOTMETRICS_RABBITMQ_URL=amqp://guest:guest@127.0.0.1:$port/%2f
    _BROKERS_WAIT+=("amqp HOTMETRICS_RABBITMQ_URL 90 $dir")
    echo "== starting rabbitmq-server on 127.0.0.1:$port (logs in $dir)"
  fi
  if ! _brokers_running nats HOTMETRICS_NATS_URL nats://127.0.0.1:4222; then
    port=$(_brokers_free_port)
    dir=$HOTMETRICS_BROKER_DIR/nats
    mkdir -p "$dir"
    nats-server -a 127.0.0.1 -p "$port" -js -sd "$dir/jetstream" \
      -l "$dir/server.log" >"$dir/stdout.log" 2>&1 &
    _BROKERS_PIDS+=("$!")
    export HOTMETRICS_NATS_URL=nats://127.0.0.1:$port
    _BROKERS_WAIT+=("nats HOTMETRICS_NATS_URL 30 $dir")
    echo "== starting nats-server -js on 127.0.0.1:$port (logs in $dir)"
  fi
  if ! _brokers_running redis HOTMETRICS_REDIS_URL redis://127.0.0.1:6379; then
    port=$(_brokers_free_port)
    dir=$HOTMETRICS_BROKER_DIR/redis
    mkdir -p "$dir"
    # In memory only: no snapshots, no append-only file.
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' \
      --appendonly no --logfile "$dir/server.log" >"$dir/stdout.log" 2>&1 &
    _BROKERS_PIDS+=("$!")
    export HOTMETRICS_REDIS_URL=redis://127.0.0.1:$port
    _BROKERS_WAIT+=("redis HOTMETRICS_REDIS_URL 30 $dir")
    echo "== starting redis-server on 127.0.0.1:$port (logs in $dir)"
  fi
  if ! _brokers_running mqtt HOTMETRICS_MQTT_URL mqtt://127.0.0.1:1883; then
    port=$(_brokers_free_port)
    dir=$HOTMETRICS_BROKER_DIR/mosquitto
    mkdir -p "$dir"
    # Mosquitto 2 listens on loopback only and refuses anonymous clients
    # unless a configuration file says otherwise.
    printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest file %s\n' \
      "$port" "$dir/server.log" >"$dir/mosquitto.conf"
    # In /usr/sbin, off a user's PATH.
    "$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$dir/mosquitto.conf" \
      >"$dir/stdout.log" 2>&1 &
    _BROKERS_PIDS+=("$!")
    export HOTMETRICS_MQTT_URL=mqtt://127.0.0.1:$port
    _BROKERS_WAIT+=("mqtt HOTMETRICS_MQTT_URL 30 $dir")
    echo "== starting mosquitto on 127.0.0.1:$port (logs in $dir)"
  fi
}

brokers_wait() {
  local entry kind var timeout dir url deadline
  for entry in "${_BROKERS_WAIT[@]}"; do
    read -r kind var timeout dir <<<"$entry"
    url=${!var}
    deadline=$((SECONDS + timeout))
    # shellcheck disable=SC2046
    until _brokers_probe "$kind" $(_brokers_host_port "$url"); do
      if ((SECONDS >= deadline)); then
        echo "test.sh: $var=$url did not answer within ${timeout}s; logs in $dir:" >&2
        find "$dir" -name '*.log' -type f -print -exec tail -n 40 {} \; >&2
        return 1
      fi
      sleep 0.5
    done
    echo "== $var=$url answers"
  done
}
