-- POST one GraphQL request body again and again; report the numbers as one JSON line.
--
--   wrk -t2 -c10 -d10s --latency -s bench/wrk/graphql.lua http://127.0.0.1:8000/graphql -- body.json
--
-- The body file holds the whole JSON request ({"query": ..., "variables": ...}). done() prints
-- `WRK_JSON {...}` after wrk's own report: requests, seconds, req/s, latency percentiles in
-- microseconds, and the error counts (a non-2xx answer counts under "status").

function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
  file:close()
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "seconds": %.3f, "rps": %.2f, "bytes": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, seconds, summary.requests / seconds, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
