#!/usr/bin/env bash
# Runs several `switchboard serve` replicas behind nginx on loopback, sharing one PostgreSQL (keys, ledger, limits,
# cache, stored responses): the tested shape of a multi-replica deployment.
#
#   deploy/replicas.sh CONFIG [REPLICAS]
#
# CONFIG is a switchboard.toml whose [store] url names the PostgreSQL database; each replica runs it on its own port
# (REPLICA_PORTS, a space-separated list, else REPLICA_BASE_PORT, +1, ...; 18100 by default) and nginx listens on NGINX_PORT (18080 by default). nginx retries a
# request on the next replica when one cannot be reached, drops the connection or answers 502/503, so a replica that
# dies loses no client request. Environment: SWITCHBOARD_BIN (default: `switchboard` on PATH), RUN_DIR (default: a
# temporary directory; it gets replica-N.pid, replica-N.log, nginx.conf and nginx's logs). Runs until SIGTERM or
# SIGINT, then stops nginx and the replicas (each drains its requests first).
set -euo pipefail
config=${1:?usage: deploy/replicas.sh CONFIG [REPLICAS]}
replicas=${2:-3}
bin=${SWITCHBOARD_BIN:-switchboard}
base=${REPLICA_BASE_PORT:-18100}
front=${NGINX_PORT:-18080}
run=${RUN_DIR:-$(mktemp -d /tmp/switchboard-replicas.XXXXXX)}
mkdir -p "$run/logs"
command -v nginx >/dev/null || { echo "replicas.sh: needs nginx (apt-get install nginx)" >&2; exit 1; }

pids=()
stop() {
  nginx -p "$run" -c nginx.conf -s quit 2>/dev/null || true
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 0' TERM INT

ports=()
for i in $(seq 1 "$replicas"); do ports+=($((base + i - 1))); done
[ -n "${REPLICA_PORTS:-}" ] && read -r -a ports <<<"$REPLICA_PORTS" && replicas=${#ports[@]}

servers=""
for i in $(seq 1 "$replicas"); do
  port=${ports[$((i - 1))]}
  "$bin" serve --config "$config" --port "$port" >"$run/replica-$i.log" 2>&1 &
  pids+=($!)
  echo $! >"$run/replica-$i.pid"
  servers+="    server 127.0.0.1:$port max_fails=1 fail_timeout=2s;"$'\n'
done

user=""; [ "$(id -u)" = 0 ] && user="user root;"
cat >"$run/nginx.conf" <<NGINX
$user
worker_processes 1;
error_log logs/error.log;
pid logs/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  upstream switchboard {
$servers    keepalive 64;
  }
  server {
    listen 127.0.0.1:$front;
    client_max_body_size 8m;
    location / {
      proxy_pass http://switchboard;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_buffering off;
      proxy_read_timeout 600s;
      # A replica that is gone (refused, reset, or a 502/503 while it drains): the next one answers. POSTs are
      # retried too: the gateway commits a request's record before it answers, so a retried request that the dead
      # replica had already recorded has two records, never none.
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      proxy_next_upstream_tries $replicas;
    }
  }
}
NGINX

# Each replica answers /health before nginx takes traffic.
for i in $(seq 1 "$replicas"); do
  port=${ports[$((i - 1))]}
  for _ in $(seq 1 300); do
    if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=1)" 2>/dev/null; then
      break
    fi
    kill -0 "${pids[$((i - 1))]}" 2>/dev/null || { echo "replica $i exited:" >&2; cat "$run/replica-$i.log" >&2; exit 1; }
    sleep 0.1
  done
done
nginx -p "$run" -c nginx.conf
echo "switchboard: $replicas replicas behind http://127.0.0.1:$front (run dir $run)" >&2
# Serves until a signal; a replica that dies meanwhile is nginx's to route around.
while true; do sleep 1 & wait $! || true; done
