-- Counts answers by status class for bench/throughput.py.
-- Each wrk thread counts in its own Lua state; done() sums them through the thread
-- objects that setup() collected, and prints one "BENCH {json}" line.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  n2xx, n3xx, n4xx, n5xx = 0, 0, 0, 0
end

function response(status, headers, body)
  if status < 300 then
    n2xx = n2xx + 1
  elseif status < 400 then
    n3xx = n3xx + 1
  elseif status < 500 then
    n4xx = n4xx + 1
  else
    n5xx = n5xx + 1
  end
end

function done(summary, latency, requests)
  local n = { n2xx = 0, n3xx = 0, n4xx = 0, n5xx = 0 }
  for _, thread in ipairs(threads) do
    for name in pairs(n) do
      n[name] = n[name] + thread:get(name)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "2xx": %d, "3xx": %d, "4xx": %d, "5xx": %d, '
      .. '"socket_errors": %d, "timeouts": %d, '
      .. '"latency_ms": {"p50": %.1f, "p99": %.1f, "max": %.1f}}\n',
    summary.requests, summary.duration, n.n2xx, n.n3xx, n.n4xx, n.n5xx,
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000
  ))
end
