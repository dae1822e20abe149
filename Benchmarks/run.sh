#!/usr/bin/env bash
# Gateway benchmark on loopback: a fixed-response nginx upstream, nginx proxy_pass in front of it (the
# reference for what a proxy can do), and `switchboard serve` (release) in front of it with the full
# path on (auth, routing, metrics). wrk drives each at concurrency 1, 32 and 256, interleaved, and the
# script prints requests/s, p50, p99 and each proxy's CPU side by side, then the gateway's RSS, a
# 1,000-stream SSE hold test and (with PROFILE=1) a perf profile.
#
#   Benchmarks/run.sh                 # DURATION=10 by default
#   DURATION=20 PROFILE=1 Benchmarks/run.sh
#   ALLOCS=1 LEVELS=32 Benchmarks/run.sh   # also malloc calls a request (perf uprobe)
#   LIMITS=1 LEVELS="32 256" Benchmarks/run.sh   # with a global rpm limit, a key's rpm/tpm limits and a budget
#   SOAK=30 LEVELS=" " SSE=0 FIXED_RATE=0 Benchmarks/run.sh   # 30 s saturated, then the ledger metric against the rows
#   MIXED_SOAK=1800 LEVELS=" " SSE=0 HEY=0 FIXED_RATE=0 Benchmarks/run.sh   # 30 min of mixed routes; RSS and fds sampled
#   MODEL=lane:bench LEVELS=32 Benchmarks/run.sh   # every request through a lane (one slot: up/bench-model)
#   MODEL=err/bench-model LEVELS=32 SSE=0 Benchmarks/run.sh   # every request an upstream error (400), decoded and redacted
#   CACHE=1 LEVELS=32 SSE=0 Benchmarks/run.sh   # temperature 0: after the first, every request a response-cache hit
#   TRACING=1 LEVELS=32 SSE=0 Benchmarks/run.sh # this build with OpenTelemetry traces on (spans to the upstream nginx,
#                                               # which accepts them); a BASELINE_BIN runs without
#   LEVELS=" " SSE=0 Benchmarks/run.sh     # only the fixed-rate runs (hey's bursts, then evenly paced)
#   LEVELS=" " SSE=0 HEY=0 BASELINE_BIN=/tmp/base BASELINE_LEVELS=" " PACED_COMPARE=1 Benchmarks/run.sh
#                                          # only paced: nginx, then this build against another, interleaved
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
LEVELS=${LEVELS:-"1 32 256"}
for tool in nginx wrk python3; do command -v $tool >/dev/null || { echo "needs $tool (apt-get install nginx wrk hey)"; exit 1; }; done

BIN=${SWITCHBOARD_BIN:-.build-release/release/switchboard}
if [ ! -x "$BIN" ]; then swift build -c release --product switchboard --scratch-path .build-release; fi

WORK=$(mktemp -d /tmp/sb-bench.XXXXXX)
UP=19101; NGX=19102; SB=19103
KEY=sk-sb-bench-master
cleanup() { [ -n "${SBPID:-}" ] && kill "$SBPID" 2>/dev/null; nginx -p "$WORK/up" -c nginx.conf -s stop 2>/dev/null;
            nginx -p "$WORK/px" -c nginx.conf -s stop 2>/dev/null; true; }
trap cleanup EXIT

COMPLETION='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the benchmark upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}'
# MODEL=err/bench-model: the upstream's answer to every request, an OpenAI error the gateway decodes and redacts.
UPSTREAM_ERROR='{"error":{"message":"This request exceeds the maximum context length of 8192 tokens for bench-model (9000 tokens requested); reduce the length of the messages or completion. Request id req_0123456789abcdef.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}'
# 200 SSE chunks then [DONE], for the stream hold test.
mkdir -p "$WORK/stream/v1/chat"
python3 - "$WORK/stream/v1/chat/completions" <<'PY'
import json, sys
out = []
for i in range(200):
    out.append("data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "model": "bench-model",
        "choices": [{"index": 0, "delta": {"content": f"t{i} "}, "finish_reason": None}]}) + "\n\n")
out.append("data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "model": "bench-model",
    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 1, "completion_tokens": 200}}) + "\n\n")
out.append("data: [DONE]\n\n")
open(sys.argv[1], "w").write("".join(out))
PY

mkdir -p "$WORK/up/logs" "$WORK/px/logs"
# Static files are read by the worker, which must be able to enter $WORK.
USERLINE=""; [ "$(id -u)" = 0 ] && USERLINE="user root;"
cat > "$WORK/up/nginx.conf" <<NGINX
$USERLINE
worker_processes 1;
error_log logs/error.log;
pid logs/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$UP;
    location /v1/models { default_type application/json; return 200 '{"object":"list","data":[{"id":"bench-model","object":"model"}]}'; }
    location /v1/chat/completions { default_type application/json; return 200 '$COMPLETION'; }
    location /err/v1/chat/completions { default_type application/json; return 400 '$UPSTREAM_ERROR'; }
    # An OTLP/HTTP collector that takes every span batch (an empty protobuf answer is a whole export response).
    location /v1/traces { default_type application/x-protobuf; return 200 ''; }
    # The streamed answer: a static file of 200 SSE chunks (405 -> 200 lets the static module answer a POST).
    location /stream/ { root $WORK; default_type text/event-stream; error_page 405 =200 \$uri; }
  }
}
NGINX
cat > "$WORK/px/nginx.conf" <<NGINX
worker_processes 1;
error_log logs/error.log;
pid logs/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream up { server 127.0.0.1:$UP; keepalive 512; }
  server {
    listen 127.0.0.1:$NGX;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
nginx -p "$WORK/up" -c nginx.conf
nginx -p "$WORK/px" -c nginx.conf

cat > "$WORK/switchboard.toml" <<TOML
[server]
host = "127.0.0.1"
port = $SB
health_interval_seconds = 3600
direct_routes = ${DIRECT_ROUTES:-true}
loop_chat = ${LOOP_CHAT:-true}
[store]
path = "$WORK/switchboard.db"
ledger = ${LEDGER:-true}
[[providers.openai_compat]]
id = "up"
base_url = "http://127.0.0.1:$UP/v1"
api_key = "sk-upstream-bench"
[[providers.openai_compat]]
id = "sse"
base_url = "http://127.0.0.1:$UP/stream/v1"
TOML
# MODEL=lane:bench: requests go through a lane of one slot (a build without lanes cannot read this section).
case "${MODEL:-}" in lane:*) printf '[lanes.bench]\nmodels = ["up/bench-model"]\n' >> "$WORK/switchboard.toml" ;; esac
# MODEL=err/bench-model: every request answered 400 by the upstream (the error path: the upstream's error decoded and
# redacted, the client's 400 written and recorded); the gateway's figures count those answers.
case "${MODEL:-}" in err/*) printf '[[providers.openai_compat]]\nid = "err"\nbase_url = "http://127.0.0.1:%s/err/v1"\napi_key = "sk-upstream-bench"\n' "$UP" >> "$WORK/switchboard.toml" ;; esac
# LIMITS=1: every limit kind on and none ever reached: a gateway-wide rpm limit, and the requests sent with a key
# that has its own rpm and tpm limits and a monthly budget (a comparison's gateway starts from a copy of the store
# holding that key).
if [ "${LIMITS:-0}" = 1 ]; then
  printf '[limits.global]\nrpm = 100000000\n' >> "$WORK/switchboard.toml"
  KEY=$("$BIN" keys create --name bench --rpm 1000000000 --tpm 100000000000 --budget-usd 1000000000 --budget-period month \
        --config "$WORK/switchboard.toml" 2>/dev/null | grep -o 'sk-sb-[A-Za-z0-9]*' | head -1)
  [ -n "$KEY" ] || { echo "could not create the benchmark's key"; exit 1; }
  echo "limits on: a global rpm limit; requests with key ${KEY:0:10}... (rpm, tpm, monthly budget)"
  for f in "$WORK"/switchboard.db*; do cp "$f" "$WORK/keys${f#"$WORK"/switchboard}"; done
fi
TRACE_ENV=()
[ "${TRACING:-0}" = 1 ] && TRACE_ENV=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$UP")
env "${TRACE_ENV[@]}" SWITCHBOARD_MASTER_KEY=${MASTER_KEY:-sk-sb-bench-master} "$BIN" serve --config "$WORK/switchboard.toml" 2>"$WORK/sb.log" &
SBPID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$SB/health" >/dev/null && break; sleep 0.1; done

# CACHE=1: temperature 0, which the response cache keeps (its default mode), so every request after the first is a hit.
CACHE_FIELD=""
if [ "${CACHE:-0}" = 1 ]; then CACHE_FIELD='"temperature":0,'; fi
cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"model":"${MODEL:-up/bench-model}",${CACHE_FIELD}"messages":[{"role":"user","content":"hi"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
LUA

ngx_pid() { cat "$WORK/px/logs/nginx.pid" | xargs -I{} pgrep -P {} | head -1; }
# User ticks, system ticks and involuntary context switches (every thread's).
cpu_split() { echo "$(awk '{print $14, $15}' /proc/$1/stat) $(cat /proc/$1/task/*/status | awk '/^nonvoluntary_ctxt_switches/ {n += $2} END {print n}')"; }
TICK=$(getconf CLK_TCK)

# One wrk run: prints "rps p50 p99 cpu_cores cpu_us_per_req non2xx user_us system_us preemptions", the last three a
# request.
measure() { # url pid conns
  local url=$1 pid=$2 c=$3 t=2
  [ "$c" -lt 2 ] && t=1
  local out split0 split1
  split0=$(cpu_split "$pid")
  out=$(wrk -t$t -c"$c" -d"${DURATION}s" --latency -s "$WORK/post.lua" "$url/v1/chat/completions")
  split1=$(cpu_split "$pid")
  local rps p50 p99 errs
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errs=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  python3 - "$rps" "$p50" "$p99" "$TICK" "$DURATION" "${errs:-0}" "$split0" "$split1" <<'PY'
import sys
rps, p50, p99, tick, dur, errs, s0, s1 = sys.argv[1:]
def ms(v):
    for unit, f in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if v.endswith(unit): return float(v[:-len(unit)]) * f
    return float(v)
user, system, preempted = (int(y) - int(x) for x, y in zip(s0.split(), s1.split()))
cores = (user + system) / int(tick) / float(dur)
rps = float(rps)
n = rps * float(dur) or 1
print(f"{rps:.0f} {ms(p50):.3f} {ms(p99):.3f} {cores:.2f} {cores * 1e6 / rps if rps else 0:.0f} {errs} "
      f"{user / int(tick) * 1e6 / n:.1f} {system / int(tick) * 1e6 / n:.1f} {preempted / n:.2f}")
PY
}

# Warm up both proxies.
wrk -t1 -c8 -d2s -s "$WORK/post.lua" "http://127.0.0.1:$NGX/v1/chat/completions" >/dev/null
wrk -t1 -c8 -d2s -s "$WORK/post.lua" "http://127.0.0.1:$SB/v1/chat/completions" >/dev/null

# SOAK=SECONDS: the gateway saturated (wrk, 256 connections) that long, then its ledger checked: the records metric
# against the rows in the store once the journal is moved, and the log for records moved twice.
if [ -n "${SOAK:-}" ]; then
  sent=$(wrk -t2 -c256 -d"${SOAK}s" -s "$WORK/post.lua" "http://127.0.0.1:$SB/v1/chat/completions" | awk '/requests in/ {print $1}')
  metric() { curl -s "http://127.0.0.1:$SB/metrics" | awk '/^switchboard_ledger_records / {print $2}'; }
  rows() { sqlite3 "$WORK/switchboard.db" "select count(*) from usage_ledger"; }
  for _ in $(seq 1 100); do [ "$(metric)" = "$(rows)" ] && break; sleep 0.1; done
  echo "soak: ${SOAK}s at c=256, $sent requests answered (plus warm-up); switchboard_ledger_records $(metric), rows $(rows)," \
       "log lines about repeated request ids: $(grep -c 'repeated a request id' "$WORK/sb.log")"
fi

# MIXED_SOAK=SECONDS: a mixed load that long (c=32: chat, chat streamed, messages, an HF task, the Responses API,
# in turn), the gateway's RSS and open file descriptors sampled every 10 s; then the samples after warm-up.
if [ -n "${MIXED_SOAK:-}" ]; then
  cat > "$WORK/mixed.lua" <<LUA
local h = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $KEY"}
local kinds = {
  wrk.format("POST", "/v1/chat/completions", h, '{"model":"up/bench-model","messages":[{"role":"user","content":"hi"}]}'),
  wrk.format("POST", "/v1/chat/completions", h, '{"model":"sse/bench-model","stream":true,"messages":[{"role":"user","content":"hi"}]}'),
  wrk.format("POST", "/v1/messages", h, '{"model":"up/bench-model","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}'),
  wrk.format("POST", "/hf/tasks/summarization", h, '{"model":"up/bench-model","inputs":"a short text to summarise"}'),
  wrk.format("POST", "/v1/responses", h, '{"model":"up/bench-model","input":"hi","store":false}'),
}
local n = 0
request = function() n = n + 1; return kinds[(n % #kinds) + 1] end
local bad = 0
response = function(status) if status ~= 200 then bad = bad + 1 end end
done = function() io.write(string.format("non-200 answers: %d\n", bad)) end
LUA
  samples="$WORK/samples"
  ( while kill -0 "$SBPID" 2>/dev/null; do
      echo "$(date +%s) $(awk '/VmRSS/ {print $2}' /proc/$SBPID/status) $(ls /proc/$SBPID/fd | wc -l)" >> "$samples"; sleep 10
    done ) &
  SAMPLER=$!
  wrk -t2 -c32 -d"${MIXED_SOAK}s" -s "$WORK/mixed.lua" "http://127.0.0.1:$SB" | grep -E "requests in|Requests/sec|non-200|Non-2xx"
  kill "$SAMPLER" 2>/dev/null
  python3 - "$samples" <<'PY'
import sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 3]
warm = rows[len(rows) // 10:] or rows
rss = [r[1] / 1024 for r in warm]; fds = [r[2] for r in warm]
print(f"mixed soak: {len(rows)} samples; after warm-up RSS first {rss[0]:.1f}, last {rss[-1]:.1f}, max {max(rss):.1f} MB; "
      f"open descriptors first {fds[0]}, last {fds[-1]}, max {max(fds)}")
print("  every 10th sample (s, RSS MB, fds): " + ", ".join(f"{r[0] - rows[0][0]} {r[1] / 1024:.1f} {r[2]}" for r in rows[::10]))
PY
fi

echo "duration ${DURATION}s per run, $ROUNDS interleaved rounds per level (median shown); nginx upstream 1 worker, nginx proxy 1 worker"
printf "%-5s | %-40s | %-40s | %s\n" "conns" "nginx proxy_pass: req/s p50ms p99ms cores µs/req" "switchboard: req/s p50ms p99ms cores µs/req" "ratio (each round)"
for c in $LEVELS; do
  rows=""
  for r in $(seq 1 "$ROUNDS"); do
    n=$(measure "http://127.0.0.1:$NGX" "$(ngx_pid)" "$c")
    s=$(measure "http://127.0.0.1:$SB" "$SBPID" "$c")
    rows="$rows$n|$s"$'\n'
  done
  python3 - "$c" "$rows" <<'PY'
import sys, statistics
c, rows = sys.argv[1], [r for r in sys.argv[2].split("\n") if r]
pairs = [(list(map(float, n.split())), list(map(float, s.split()))) for n, s in (r.split("|") for r in rows)]
def med(side, i): return statistics.median(p[side][i] for p in pairs)
ratios = [s[0] / n[0] for n, s in pairs]
fmt = lambda side: f"{med(side,0):.0f} {med(side,1):.3f} {med(side,2):.3f} {med(side,3):.2f} {med(side,4):.0f}"
print(f"{c:<5} | {fmt(0):<40} | {fmt(1):<40} | {statistics.median(ratios):.3f}x ({', '.join(f'{r:.3f}' for r in ratios)})")
if c == "1":
    print(f"      p50 added over nginx proxy at c=1: {med(1,1) - med(0,1):.3f} ms")
split = lambda side: f"{med(side,6):.0f} µs user, {med(side,7):.0f} µs system, {med(side,8):.2f} preemptions"
print(f"      a request (medians): nginx proxy_pass {split(0)}; switchboard {split(1)}")
errors = sum(p[1][5] for p in pairs)
if errors: print(f"      switchboard non-2xx responses: {errors:.0f}")
PY
done
echo "switchboard RSS after the runs: $(awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$SBPID/status), peak $(awk '/VmHWM/ {print $2/1024 " MB"}' /proc/$SBPID/status)" \
     "($(awk '/RssAnon|RssFile|RssShmem/ {printf "%s %.1f MB ", $1, $2/1024}' /proc/$SBPID/status))"
# What stays once the last run's in-flight buffers are freed and the gateway's trimmer (every 5 s) returned them.
sleep 6
echo "switchboard RSS 6 s after the runs: $(awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$SBPID/status)" \
     "($(awk '/RssAnon|RssFile/ {printf "%s %.1f MB ", $1, $2/1024}' /proc/$SBPID/status))"
# RSS_DETAIL=1: the mappings that hold most of it.
if [ "${RSS_DETAIL:-0}" = 1 ]; then
  awk '/^[0-9a-f]+-[0-9a-f]+ / {name=$6; if (name=="") name="[anon]"} /^Rss:/ {rss[name]+=$2}
       END {for (n in rss) printf "  %8.1f MB  %s\n", rss[n]/1024, n}' /proc/$SBPID/smaps | sort -rn | head -12
fi

# A second gateway with one setting changed, measured interleaved with the first, before the SSE test leaves
# hundreds of idle upstream connections in the first one's pool. compare NAME PORT LEVELS SED-EXPRESSION [BINARY]
compare() {
  local name=$1 port=$2 levels=$3 edit=$4 bin=${5:-$BIN}
  sed -e "s/port = $SB/port = $port/" -e "s|path = \"$WORK/switchboard.db\"|path = \"$WORK/$name.db\"|" -e "$edit" \
    "$WORK/switchboard.toml" > "$WORK/$name.toml"
  # The key the requests carry (LIMITS=1) is in the store the main gateway started from.
  for f in "$WORK"/keys.db*; do if [ -f "$f" ]; then cp "$f" "$WORK/$name${f#"$WORK"/keys}"; fi; done
  SWITCHBOARD_MASTER_KEY=${MASTER_KEY:-sk-sb-bench-master} "$bin" serve --config "$WORK/$name.toml" 2>"$WORK/$name.log" &
  local pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  wrk -t1 -c8 -d2s -s "$WORK/post.lua" "http://127.0.0.1:$port/v1/chat/completions" >/dev/null
  for c in $levels; do
    rows=""
    for r in $(seq 1 "$ROUNDS"); do
      on=$(measure "http://127.0.0.1:$SB" "$SBPID" "$c")
      off=$(measure "http://127.0.0.1:$port" "$pid" "$c")
      rows="$rows$on|$off"$'\n'
    done
    python3 - "$c" "$rows" "$name" <<'PY'
import sys, statistics
c, name = sys.argv[1], sys.argv[3]
rows = [r for r in sys.argv[2].split("\n") if r]
pairs = [(list(map(float, a.split())), list(map(float, b.split()))) for a, b in (r.split("|") for r in rows)]
def med(side, i): return statistics.median(p[side][i] for p in pairs)
on, off, p50on, p50off, cpu_on, cpu_off = med(0, 0), med(1, 0), med(0, 1), med(1, 1), med(0, 4), med(1, 4)
change = 100 * (on - off) / off
print(f"as configured vs {name} at c={c}: {on:.0f} vs {off:.0f} req/s, {abs(change):.1f}% {'higher' if change >= 0 else 'lower'} as configured; "
      f"p50 {p50on:.3f} vs {p50off:.3f} ms; {cpu_on:.0f} vs {cpu_off:.0f} µs CPU/req "
      f"({med(0, 6):.0f}/{med(0, 7):.0f} vs {med(1, 6):.0f}/{med(1, 7):.0f} user/system, "
      f"{med(0, 8):.2f} vs {med(1, 8):.2f} preemptions) "
      f"(rounds: {', '.join(f'{p[0][0]:.0f}/{p[1][0]:.0f}' for p in pairs)})")
errors = [sum(p[side][5] for p in pairs) for side in (0, 1)]
if any(errors): print(f"      non-2xx responses: {errors[0]:.0f} as configured, {errors[1]:.0f} {name}")
PY
  done
  # PACED_COMPARE=1: the paced fixed rate too, interleaved, for the p99 (see "Paced" below).
  if [ "${PACED_COMPARE:-0}" = 1 ]; then
    [ -x "$WORK/pace" ] || cc -O2 -o "$WORK/pace" Benchmarks/pace.c
    local body='{"model":"up/bench-model","messages":[{"role":"user","content":"hi"}]}'
    echo "paced ${RATE:-5000} req/s, as configured vs $name vs nginx proxy_pass: sent, achieved req/s, p50, p99, p99.9, max ms, non-2xx"
    local rows="" a b n
    for r in $(seq 1 "$ROUNDS"); do
      a=$("$WORK/pace" $SB "${RATE:-5000}" "$DURATION" "${PACE_CONNS:-64}" "$body" "$KEY")
      b=$("$WORK/pace" "$port" "${RATE:-5000}" "$DURATION" "${PACE_CONNS:-64}" "$body" "$KEY")
      n=$("$WORK/pace" $NGX "${RATE:-5000}" "$DURATION" "${PACE_CONNS:-64}" "$body" "$KEY")
      echo "  as configured: $a   $name: $b   nginx: $n"
      rows="$rows$a|$b|$n"$'\n'
    done
    python3 - "$name" "$rows" <<'PY'
import sys, statistics
name, rows = sys.argv[1], [r.split("|") for r in sys.argv[2].split("\n") if r]
p99 = [[float(x.split()[3]) for x in r] for r in rows]
med = [statistics.median(r[i] for r in p99) for i in range(3)]
print(f"  median p99: as configured {med[0]:.3f}, {name} {med[1]:.3f}, nginx {med[2]:.3f} ms; "
      f"as configured minus nginx, each round: {', '.join(f'{r[0] - r[2]:+.2f}' for r in p99)} ms")
PY
  fi
  kill "$pid"
}

# LEDGER_COMPARE=1: against the same gateway with the usage ledger off.
if [ "${LEDGER_COMPARE:-0}" = 1 ]; then
  compare no-ledger 19104 "${LEDGER_LEVELS:-32}" 's|^ledger = true$|ledger = false|'
  curl -s "http://127.0.0.1:$SB/metrics" | grep -E '^switchboard_ledger_(batches|records) ' | tr '\n' ' '; echo
fi
# DIRECT_COMPARE=1: against the same gateway answering the chat route through Hummingbird's async channel.
if [ "${DIRECT_COMPARE:-0}" = 1 ]; then
  compare hummingbird-path 19105 "${DIRECT_LEVELS:-32}" 's|^direct_routes = true$|direct_routes = false|'
fi

# LOOP_COMPARE=1: against the same gateway answering every chat request as a task through the router.
if [ "${LOOP_COMPARE:-0}" = 1 ]; then
  compare task-path 19106 "${LOOP_LEVELS:-32}" 's|^loop_chat = true$|loop_chat = false|'
fi

# BASELINE_BIN=PATH: against another build of the gateway (an earlier commit's), same config.
if [ -n "${BASELINE_BIN:-}" ]; then
  compare baseline 19107 "${BASELINE_LEVELS:-32}" 's|^$||' "$BASELINE_BIN"
fi

# Fixed rate: hey paces each of its workers at -q requests/s, so the offered load is workers x q whatever
# the latency (wrk offers as fast as answers come, which hides queueing). p99 at RATE req/s, interleaved.
if [ "${FIXED_RATE:-1}" = 1 ] && [ "${HEY:-1}" = 1 ] && command -v hey >/dev/null; then
  RATE=${RATE:-5000}; WORKERS=${RATE_WORKERS:-50}; Q=$((RATE / WORKERS))
  BODY='{"model":"up/bench-model","messages":[{"role":"user","content":"hi"}]}'
  fixed() { # url -> "achieved_rps p50_ms p99_ms"
    hey -z "${DURATION}s" -c "$WORKERS" -q "$Q" -m POST -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \
      -d "$BODY" "$1/v1/chat/completions" | awk '/Requests\/sec/ {rps=$2} /50% in/ {p50=$3*1000} /99% in/ {p99=$3*1000}
        END {printf "%.0f %.3f %.3f\n", rps, p50, p99}'
  }
  echo "fixed rate ${RATE} req/s (hey, $WORKERS workers x $Q/s): achieved req/s, p50 ms, p99 ms"
  for r in $(seq 1 "$ROUNDS"); do
    echo "  nginx proxy_pass: $(fixed "http://127.0.0.1:$NGX")   switchboard: $(fixed "http://127.0.0.1:$SB")"
  done
fi

# Paced: the same rate evenly spaced (Benchmarks/pace.c, one request every 1/RATE s over 64 keep-alive connections),
# latency counted from when each request was due. hey's workers tick together, so its rate arrives in bursts of 50.
if [ "${FIXED_RATE:-1}" = 1 ] && command -v cc >/dev/null; then
  RATE=${RATE:-5000}
  cc -O2 -o "$WORK/pace" Benchmarks/pace.c
  BODY='{"model":"up/bench-model","messages":[{"role":"user","content":"hi"}]}'
  echo "paced ${RATE} req/s (Benchmarks/pace.c, ${PACE_CONNS:-64} connections): sent, achieved req/s, p50, p99, p99.9, max ms, non-2xx"
  for r in $(seq 1 "$ROUNDS"); do
    echo "  nginx proxy_pass: $("$WORK/pace" $NGX "$RATE" "$DURATION" "${PACE_CONNS:-64}" "$BODY" "$KEY")" \
         "  switchboard: $("$WORK/pace" $SB "$RATE" "$DURATION" "${PACE_CONNS:-64}" "$BODY" "$KEY")"
  done
fi

# 1,000 concurrent SSE streams of 200 chunks each, held to completion (SSE=0 skips it).
[ "${SSE:-1}" = 1 ] && python3 - "$SB" "$KEY" <<'PY'
import asyncio, sys, time
port, key = int(sys.argv[1]), sys.argv[2]
body = b'{"model":"sse/bench-model","stream":true,"messages":[{"role":"user","content":"hi"}]}'
req = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
       f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
async def one():
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(req); await w.drain()
    data = await r.read()
    w.close()
    text = data.decode(errors="replace")
    return text.startswith("HTTP/1.1 200") and text.count('"content"') == 200 and "[DONE]" in text
async def main():
    t = time.monotonic()
    results = await asyncio.gather(*(one() for _ in range(1000)), return_exceptions=True)
    ok = sum(1 for r in results if r is True)
    print(f"SSE hold: {ok}/1000 streams of 200 chunks completed in {time.monotonic() - t:.1f}s, {1000 - ok} errors")
asyncio.run(main())
PY
if [ "${SSE:-1}" = 1 ]; then
  echo "switchboard RSS right after the SSE test: $(awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$SBPID/status), peak $(awk '/VmHWM/ {print $2/1024 " MB"}' /proc/$SBPID/status)"
  sleep 6
  echo "switchboard RSS 6 s after the SSE test: $(awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$SBPID/status)"
  # The streams' 1,000 upstream connections stay pooled until the idle timeout (30 s) closes them.
  sleep 30
  echo "switchboard RSS 36 s after the SSE test: $(awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$SBPID/status)" \
       "($(awk '/RssAnon|RssFile/ {printf "%s %.1f MB ", $1, $2/1024}' /proc/$SBPID/status))"
fi

# Allocations: malloc calls a request, counted by a uprobe on libc's malloc (every thread of the gateway, the
# ledger's housekeeping thread included) over a c=32 run, divided by the requests the gateway counted meanwhile.
if [ "${ALLOCS:-0}" = 1 ] && command -v perf >/dev/null; then
  LIBC=$(ldd "$BIN" | awk '$1 ~ /^libc\.so/ {print $3}')
  perf probe -q -x "$LIBC" malloc 2>/dev/null || true
fi
if [ "${ALLOCS:-0}" = 1 ] && ! perf probe -l 2>/dev/null | grep -q 'probe_libc:malloc'; then
  echo "allocations: no uprobe on $LIBC's malloc (perf probe needs root and uprobes); skipped"
elif [ "${ALLOCS:-0}" = 1 ]; then
  served() { curl -s "http://127.0.0.1:$SB/metrics" | awk '/^switchboard_requests_total/ {s+=$2} END {print s+0}'; }
  wrk -t2 -c32 -d"$((DURATION + 2))s" -s "$WORK/post.lua" "http://127.0.0.1:$SB/v1/chat/completions" >/dev/null &
  WRKPID=$!
  sleep 1
  before=$(served)
  calls=$(perf stat -x, -e probe_libc:malloc -p "$SBPID" -- sleep "$DURATION" 2>&1 | awk -F, '/malloc/ {print $1}')
  after=$(served)
  wait $WRKPID || true
  echo "allocations at c=32: $calls malloc calls for $((after - before)) requests: $(python3 -c "print(round($calls / max(1, $after - $before), 1))") a request"
  # ALLOC_KEEP=FILE: also 3 s of the calls with their stacks (perf report -i FILE --no-children), to find who allocates.
  if [ -n "${ALLOC_KEEP:-}" ]; then
    wrk -t2 -c32 -d5s -s "$WORK/post.lua" "http://127.0.0.1:$SB/v1/chat/completions" >/dev/null &
    WRKPID=$!
    sleep 1
    perf record -q -e probe_libc:malloc --call-graph=fp -p "$SBPID" -o "$ALLOC_KEEP" -- sleep 3 >/dev/null 2>&1 || true
    wait $WRKPID || true
  fi
  perf probe -q -d probe_libc:malloc 2>/dev/null || true
fi

if [ "${PROFILE:-0}" = 1 ] && command -v perf >/dev/null; then
  [ -n "${PERF_KEEP:-}" ] && trap 'cp "$WORK/perf.data" "$PERF_KEEP" 2>/dev/null; cleanup' EXIT
  perf record -q -e cpu-clock -F 999 -g -p "$SBPID" -o "$WORK/perf.data" -- sleep "$DURATION" >/dev/null 2>&1 &
  PERF=$!
  PC=${PROFILE_CONNS:-32}
  wrk -t$([ "$PC" -lt 2 ] && echo 1 || echo 2) -c"$PC" -d"${DURATION}s" -s "$WORK/post.lua" "http://127.0.0.1:$SB/v1/chat/completions" >/dev/null
  wait $PERF || true
  echo "perf: top symbols (self time) at c=$PC"
  perf report -i "$WORK/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -30
fi
