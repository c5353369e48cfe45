-- POST a different GraphQL request body on every request; report the numbers as one JSON line.
--
--   wrk -t2 -c10 -d10s --latency -s bench/wrk/varied.lua http://127.0.0.1:8000/graphql -- bodies.jsonl
--
-- The file holds one whole JSON request ({"query": ..., "variables": ...}) per line. Each thread sends
-- them in turn, round robin, starting at its own offset (thread i of n at line i*lines/n), so that all
-- variables are used evenly and the threads do not send the same one at the same time. done() prints the
-- same `WRK_JSON {...}` line as graphql.lua.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local requests = {}
  local headers = {["Content-Type"] = "application/json", ["Accept"] = "application/json"}
  for line in io.lines(args[1]) do
    if #line > 0 then
      table.insert(requests, wrk.format("POST", nil, headers, line))
    end
  end
  assert(#requests > 0, "no request bodies in " .. args[1])
  local count = tonumber(args[2] or "1")
  _G.requests = requests
  counter = math.floor((index or 0) * #requests / count) + 1
end

function request()
  local found = requests[counter]
  counter = counter + 1
  if counter > #requests then
    counter = 1
  end
  return found
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
