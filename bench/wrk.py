"""Drive one endpoint with wrk: a Lua script rotating through prepared requests, and a JSON
summary line (requests, non-2xx/3xx answers, p50/p99 latency) printed by its `done` hook."""

import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SUMMARY = "BENCH_JSON "

LUA = """
local specs = %(specs)s
local unique = %(unique)s
local prepared = {}
local n = 0
bad = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads - 1)
end

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  for i, s in ipairs(specs) do prepared[i] = wrk.format(s[1], s[2], s[3], s[4]) end
end

function request()
  -- Threads interleave: thread t sends specs t, t + T, t + 2T, ... (each spec once per round).
  local i = ((n * %(threads)d + tid) %% #specs) + 1
  n = n + 1
  if unique == nil then return prepared[i] end
  local s = specs[i]
  local headers = {}
  for k, v in pairs(s[3]) do headers[k] = v end
  headers[unique] = string.format("bench-%%d-%%d", math.random(1, 2000000000), n)
  return wrk.format(s[1], s[2], headers, s[4])
end

function response(status, headers, body)
  if status > 399 or status < 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local total_bad = 0
  for _, t in ipairs(threads) do total_bad = total_bad + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    "%(marker)s{\\"requests\\": %%d, \\"bad\\": %%d, \\"socket_errors\\": %%d, " ..
    "\\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d}\\n",
    summary.requests, total_bad, e.connect + e.read + e.write + e.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class Target:
    """One benchmarked endpoint: requests rotated across connections (e.g. one per shopper)."""

    name: str
    method: str
    requests: list[tuple[str, dict[str, str], str]]  # (path, headers, body)
    unique_header: str | None = None  # a fresh value per request (webhook event ids)
    connections: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


def _lua_string(value: str) -> str:
    return json.dumps(value)  # JSON string escapes are valid Lua escapes for our inputs


def lua_script(target: Target, threads: int) -> str:
    specs = []
    for path, headers, body in target.requests:
        pairs = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())
        specs.append(
            f"{{{_lua_string(target.method)}, {_lua_string(path)}, {{{pairs}}}, "
            f"{_lua_string(body) if body else 'nil'}}}"
        )
    return LUA % {
        "specs": "{" + ",\n".join(specs) + "}",
        "unique": _lua_string(target.unique_header) if target.unique_header else "nil",
        "marker": SUMMARY,
        "threads": threads,
    }


def run_wrk(
    wrk: str, base_url: str, target: Target, seconds: float, connections: int, threads: int = 2
) -> dict[str, float]:
    """Run wrk once; its summary as numbers."""
    threads = min(threads, connections)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(target, threads))
    try:
        result = subprocess.run(
            [
                wrk,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "30s",
                "-s",
                script.name,
                base_url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 120,
        )
    finally:
        Path(script.name).unlink(missing_ok=True)
    for line in result.stdout.splitlines():
        if line.startswith(SUMMARY):
            return json.loads(line[len(SUMMARY) :])
    raise RuntimeError(f"wrk gave no summary:\n{result.stdout}\n{result.stderr}")
