-- Complete quiz submissions for bench/throughput.py: every request carries its own
-- email and idempotency key. Python fetched the form beforehand and passes:
--   BENCH_FORM    the urlencoded fields shared by all requests (csrf_token, started, ...)
--   BENCH_COOKIE  the Cookie header the form came with (the CSRF token is tied to it)
--   BENCH_RUN     16 hex chars, unique per wrk run (so warm-up and run never collide)

dofile("counts.lua")

local form = os.getenv("BENCH_FORM")
local run = os.getenv("BENCH_RUN")
local n = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
-- A person's browser: the funnel counts scripts' user agents (wrk's is none) as bots.
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"

function request()
  n = n + 1
  local key = string.format("%s%04x%012x", run, id, n)
  local email = string.format("bench-%s-%d-%d%%40example.com", run, id, n)
  return wrk.format(nil, nil, nil, form .. "&key=" .. key .. "&email=" .. email)
end
