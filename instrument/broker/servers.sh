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
#   brokers_stop    stops what brokers_start started, and only that (never
#                   a server that ran before), and waits for it; removes
#                   their directory after a success ($? is 0), keeps it
#                   (and says where) otherwise. test.sh runs it on exit
#                   (`trap brokers_stop EXIT`); brokers_start sets that trap
#                   itself when the shell has no EXIT trap yet.
# Each server runs in a session of its own (setsid), its data and logs in
# one temporary directory, printed at start. RabbitMQ gets an epmd of its
# own on a free port (the node would otherwise start the shared daemon,
# which outlives it).

# `_brokers_probe KIND HOST PORT`: 0 when the server there speaks KIND:
# amqp (AMQP 0-9-1: a Connection.Start frame), nats (an INFO line), redis
# (+PONG to a PING), mqtt (a CONNACK accepting an MQTT 3.1.1 CONNECT) or
# epmd (a NAMES answer: its port, 4 bytes).
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
        elif kind == "epmd":
            # NAMES_REQ: length 1, 'n'.
            s.sendall(b"\x00\x01n")
            ok = len(s.recv(4)) == 4
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

# "pid name" of each process started here, in start order.
_BROKERS_STARTED=()
# "kind port timeout name var dir" of each server brokers_wait waits for.
_BROKERS_WAIT=()
# The variables brokers_start exported for the servers it started.
_BROKERS_VARS=()
# The shell that started them: their parent.
_BROKERS_SHELL=

# `_brokers_spawn NAME DIR COMMAND...`: runs COMMAND in DIR, in a session
# of its own, its output in DIR/NAME-stdout.log; records it.
_brokers_spawn() {
  local name=$1 dir=$2
  shift 2
  (cd "$dir" && exec setsid "$@") >"$dir/$name-stdout.log" 2>&1 &
  _BROKERS_STARTED+=("$! $name")
}

# `_brokers_await KIND HOST PORT TIMEOUT DIR NAME`: waits until the server
# answers; else prints its logs and fails.
_brokers_await() {
  local kind=$1 host=$2 port=$3 timeout=$4 dir=$5 name=$6
  local deadline=$((SECONDS + timeout))
  until _brokers_probe "$kind" "$host" "$port"; do
    if ((SECONDS >= deadline)); then
      echo "test.sh: $name on $host:$port did not answer within ${timeout}s; logs in $dir:" >&2
      find "$dir" -name '*.log' -type f -print -exec tail -n 40 {} \; >&2
      return 1
    fi
    sleep 0.5
  done
}

# `_brokers_start_server NAME KIND VAR DEFAULT_URL URL TIMEOUT`: unless a
# server answers (_brokers_running), starts one on a free port (the
# command `_brokers_run_NAME PORT DIR` spawns), exports VAR=URL (PORT in
# URL replaced by the port), and has brokers_wait wait TIMEOUT seconds
# for it.
_brokers_start_server() {
  local name=$1 kind=$2 var=$3 default_url=$4 url=$5 timeout=$6 port dir
  if _brokers_running "$kind" "$var" "$default_url"; then
    return 0
  fi
  port=$(_brokers_free_port)
  dir=$HOTMETRICS_BROKER_DIR/$name
  mkdir -p "$dir"
  "_brokers_run_$name" "$port" "$dir" || return 1
  export "$var=${url/PORT/$port}"
  _BROKERS_VARS+=("$var")
  _BROKERS_WAIT+=("$kind $port $timeout $name $var $dir")
  echo "== starting $name on 127.0.0.1:$port (logs in $dir)"
}

# RabbitMQ's server script itself (not /usr/sbin's wrapper, which switches
# to the rabbitmq user and its fixed directories); a node name, files and
# configuration of its own (none of /etc/rabbitmq's; no plugins, so no
# management plugin), so it runs beside any other node on the machine;
# its own epmd, started first.
_brokers_run_rabbitmq() {
  local port=$1 dir=$2 dist epmd
  dist=$(_brokers_free_port)
  epmd=$(_brokers_free_port)
  mkdir -p "$dir/home"
  echo '[].' >"$dir/enabled_plugins"
  echo 'log.file.level = info' >"$dir/rabbitmq.conf"
  : >"$dir/rabbitmq-env.conf"
  _brokers_spawn epmd "$dir" epmd -address 127.0.0.1 -port "$epmd"
  _brokers_await epmd 127.0.0.1 "$epmd" 30 "$dir" epmd || return 1
  _brokers_spawn rabbitmq "$dir" env HOME="$dir/home" \
    RABBITMQ_NODENAME="hotmetrics-$port@localhost" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$port" \
    RABBITMQ_DIST_PORT="$dist" ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$epmd" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-start_epmd false' \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" \
    RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
    RABBITMQ_PID_FILE="$dir/pid" \
    /usr/lib/rabbitmq/bin/rabbitmq-server
}

_brokers_run_nats() {
  _brokers_spawn nats "$2" nats-server -a 127.0.0.1 -p "$1" -js -sd "$2/jetstream" \
    -l "$2/server.log"
}

# In memory only: no snapshots, no append-only file.
_brokers_run_redis() {
  _brokers_spawn redis "$2" redis-server --bind 127.0.0.1 --port "$1" --dir "$2" \
    --save '' --appendonly no --logfile "$2/server.log"
}

# Mosquitto 2 listens on loopback only and refuses anonymous clients unless
# a configuration file says otherwise; it is in /usr/sbin, off a user's
# PATH.
_brokers_run_mosquitto() {
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest file %s\n' \
    "$1" "$2/server.log" >"$2/mosquitto.conf"
  _brokers_spawn mosquitto "$2" "$(command -v mosquitto || echo /usr/sbin/mosquitto)" \
    -c "$2/mosquitto.conf"
}

brokers_start() {
  HOTMETRICS_BROKER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hotmetrics-brokers.XXXXXX")
  export HOTMETRICS_BROKER_DIR
  _BROKERS_SHELL=$BASHPID
  if [ -z "$(trap -p EXIT)" ]; then
    trap brokers_stop EXIT
  fi
  _brokers_start_server rabbitmq amqp HOTMETRICS_RABBITMQ_URL amqp://127.0.0.1:5672 \
    'amqp://guest:guest@127.0.0.1:PORT/%2f' 120 || return 1
  _brokers_start_server nats nats HOTMETRICS_NATS_URL nats://127.0.0.1:4222 \
    nats://127.0.0.1:PORT 30 || return 1
  _brokers_start_server redis redis HOTMETRICS_REDIS_URL redis://127.0.0.1:6379 \
    redis://127.0.0.1:PORT 30 || return 1
  _brokers_start_server mosquitto mqtt HOTMETRICS_MQTT_URL mqtt://127.0.0.1:1883 \
    mqtt://127.0.0.1:PORT 30 || return 1
}

brokers_wait() {
  local entry kind port timeout name var dir
  for entry in "${_BROKERS_WAIT[@]}"; do
    read -r kind port timeout name var dir <<<"$entry"
    _brokers_await "$kind" 127.0.0.1 "$port" "$timeout" "$dir" "$name" || return 1
    echo "== $var=${!var} answers"
  done
}

# `_brokers_stop_one PID NAME`: SIGTERM, up to 60 s to stop (RabbitMQ
# takes seconds), then SIGKILL to its session's group; only while PID is
# still the child this shell started (a pid is reused once reaped).
_brokers_stop_one() {
  local pid=$1 name=$2 deadline=$((SECONDS + 60))
  _brokers_ours "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while _brokers_ours "$pid" && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if _brokers_ours "$pid"; then
    echo "test.sh: $name (pid $pid) did not stop within 60s: killed" >&2
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# Whether PID runs and is a child of the shell that started the servers.
_brokers_ours() {
  [ "$(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ')" = "$_BROKERS_SHELL" ]
}

brokers_stop() {
  local rc=$? i pid name var
  for ((i = ${#_BROKERS_STARTED[@]} - 1; i >= 0; i--)); do
    read -r pid name <<<"${_BROKERS_STARTED[i]}"
    _brokers_stop_one "$pid" "$name"
  done
  for var in "${_BROKERS_VARS[@]}"; do
    unset "$var"
  done
  _BROKERS_STARTED=()
  _BROKERS_WAIT=()
  _BROKERS_VARS=()
  if [ -n "${HOTMETRICS_BROKER_DIR:-}" ]; then
    if [ "$rc" = 0 ]; then
      rm -rf "$HOTMETRICS_BROKER_DIR"
    else
      echo "test.sh: the brokers' logs are in $HOTMETRICS_BROKER_DIR" >&2
    fi
    unset HOTMETRICS_BROKER_DIR
  fi
  return "$rc"
}
