-- The mixed load of bench/load.py: visitors who view the landing page, a share of whom
-- go through the quiz to the contact step and submit it (each a new visitor with its
-- own cookie, CSRF token and start stamp), and an admin who reads the dashboard and a
-- leads page now and then.
--
-- Run with one connection per thread (wrk -t N -c N): a thread is one client doing one
-- thing at a time, so each response answers the thread's last request. Thread 1 is
-- also the admin: once --admin-every has passed since its last admin request, its next
-- request is the admin's (no wrk delay(), which would hold a sync worker on an idle
-- connection). Python passes:
--   BENCH_PAGE         the landing page's path (/p/home-brewing)
--   BENCH_ANSWERS      the quiz's answers in step order (q_style=black&q_time=5min&...)
--   BENCH_QUIZ_SHARE   the share of visitors who take the quiz (0 to 1)
--   BENCH_ADMIN        the signed-in admin's Cookie header ("" for no admin)
--   BENCH_ADMIN_PATHS  what the admin reads in turn, "kind=path kind=path"
--   BENCH_ADMIN_EVERY  seconds between two admin requests
--   BENCH_BARE         "1" against bench/hello.py: the same requests, answers not read
--   BENCH_LOG          a folder: each thread writes one line per answer,
--                      "kind status latency_us [visitor id or submission key]"
--   BENCH_RUN          16 hex chars, unique per run (in emails)

dofile("counts.lua")

local ffi = require("ffi")
ffi.cdef([[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]])
local timespec = ffi.new("bench_timespec")

local function now_us()
  ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) * 1000000 + tonumber(timespec.tv_nsec) / 1000
end

local function urlencode(text)
  return (text:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

local function unescape(text)
  return (text:gsub("&#34;", '"'):gsub("&#39;", "'"):gsub("&quot;", '"')
    :gsub("&lt;", "<"):gsub("&gt;", ">"):gsub("&amp;", "&"))
end

-- The hidden inputs of a page, in their order, as a list of {name, value}.
local function hidden_inputs(body)
  local fields = {}
  for tag in body:gmatch("<input[^>]*>") do
    if tag:find('type="hidden"', 1, true) then
      local name, value = tag:match('name="([^"]*)"'), tag:match('value="([^"]*)"')
      if name then
        table.insert(fields, { name, unescape(value or "") })
      end
    end
  end
  return fields
end

local function encode(fields)
  local parts = {}
  for _, field in ipairs(fields) do
    table.insert(parts, urlencode(field[1]) .. "=" .. urlencode(field[2]))
  end
  return table.concat(parts, "&")
end

local page = os.getenv("BENCH_PAGE")
local quiz_share = tonumber(os.getenv("BENCH_QUIZ_SHARE"))
local admin_cookie = os.getenv("BENCH_ADMIN") or ""
local admin_every = tonumber(os.getenv("BENCH_ADMIN_EVERY") or "1") * 1000000
local bare = os.getenv("BENCH_BARE") == "1"
local run = os.getenv("BENCH_RUN")
local answers = {} -- {name, value} in step order
for name, value in os.getenv("BENCH_ANSWERS"):gmatch("([^&=]+)=([^&]*)") do
  table.insert(answers, { name, value })
end
local admin_paths = {}
for kind, path in (os.getenv("BENCH_ADMIN_PATHS") or ""):gmatch("([^%s=]+)=(%S+)") do
  table.insert(admin_paths, { kind, path })
end

-- Per thread (each has its own copy of these).
local log, sent_at, kind, note
local jar, started, form, step, n = {}, nil, nil, 0, 0
local admin_jar, admin_turn, admin_last = {}, 0, 0

local count_init, count_response = init, response

function init(args)
  count_init(args)
  math.randomseed(id * 7919)
  local folder = os.getenv("BENCH_LOG")
  if folder then
    log = assert(io.open(string.format("%s/thread-%02d.log", folder, id), "w"))
  end
  for name, value in admin_cookie:gmatch("([^=;%s]+)=([^;]*)") do
    admin_jar[name] = value
  end
  admin_last = now_us()
end

local function cookie_header(cookies)
  local parts = {}
  for name, value in pairs(cookies) do
    table.insert(parts, name .. "=" .. value)
  end
  return table.concat(parts, "; ")
end

-- A person's browser: the funnel counts scripts' user agents (wrk's is none) as bots.
local BROWSER = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"

local function get(path, cookies)
  return wrk.format("GET", path, {
    Host = wrk.headers["Host"], Cookie = cookie_header(cookies), ["User-Agent"] = BROWSER,
  })
end

-- The query of quiz step `to`: the answers of the steps before it, as its form sends them.
local function step_query(to)
  local fields = {}
  for index = 1, to - 1 do
    table.insert(fields, answers[index])
  end
  table.insert(fields, { "started", started or "" })
  table.insert(fields, { "step", tostring(to) })
  return encode(fields)
end

local function new_visitor()
  jar, started, form, step = {}, nil, nil, 0
end

function request()
  note = nil
  sent_at = now_us()
  if #admin_paths > 0 and id == 1 and sent_at - admin_last >= admin_every then
    admin_last, admin_turn = sent_at, admin_turn % #admin_paths + 1
    kind = admin_paths[admin_turn][1]
    return get(admin_paths[admin_turn][2], admin_jar)
  end
  if step == 0 then
    kind = "landing"
    return get(page, jar)
  elseif step == 1 then
    kind = "quiz"
    return get(page .. "/quiz", jar)
  elseif step <= #answers + 1 then -- a question, then the contact step
    kind = "quiz"
    return get(page .. "/quiz?" .. step_query(step), jar)
  end
  kind, n = "submit", n + 1
  local email = string.format("load-%s-%d-%d@example.com", run, id, n)
  local fields = form
  if bare then -- a form as long as the demo's, with a key of its own
    fields = { { "csrf_token", string.rep("c", 91) }, { "started", string.rep("s", 86) } }
    table.insert(fields, { "key", string.format("%s%04x%012x", run, id, n) })
    for _, answer in ipairs(answers) do
      table.insert(fields, answer)
    end
  end
  for _, field in ipairs(fields) do
    if field[1] == "key" then
      note = field[2]
    end
  end
  local body = encode(fields) .. "&name=Load&consent=y&website=&email=" .. urlencode(email)
  return wrk.format("POST", page .. "/quiz", {
    Host = wrk.headers["Host"],
    Cookie = cookie_header(jar),
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["User-Agent"] = BROWSER,
  }, body)
end

local function keep_cookie(cookies, headers)
  local set = headers["Set-Cookie"] -- wrk keeps the last one of a name
  if set then
    local name, value = set:match("^%s*([^=;%s]+)=([^;]*)")
    if name then
      cookies[name] = value
      return name, value
    end
  end
end

function response(status, headers, body)
  count_response(status, headers, body)
  local latency = now_us() - sent_at
  local ok = status >= 200 and status < 400
  if kind == "landing" or kind == "quiz" or kind == "submit" then
    local name, value = keep_cookie(jar, headers)
    if kind == "landing" and name == "funnel_vid" then
      note = value
    end
    if not ok then
      new_visitor()
    elseif kind == "landing" then
      if math.random() < quiz_share then
        step = 1
      else -- gone: the next landing view is another visitor's
        new_visitor()
      end
    elseif kind == "submit" then
      new_visitor()
    else
      if step == 1 and not bare then
        for _, field in ipairs(hidden_inputs(body)) do
          if field[1] == "started" then
            started = field[2]
          end
        end
      end
      if step == #answers + 1 and not bare then
        form = hidden_inputs(body)
        if #form == 0 then -- not the contact step: start again
          new_visitor()
        end
      end
      if step > 0 then
        step = step + 1
      end
    end
  else
    keep_cookie(admin_jar, headers)
  end
  if log then
    log:write(kind, " ", status, " ", string.format("%d", latency), note and (" " .. note) or "", "\n")
  end
end
