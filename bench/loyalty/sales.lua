-- wrk script for bench/loyalty/run.sh: recorded sales at the till, every tenth request a retry
-- of an earlier sale (same external id, same body: answered 200 with the first result).
-- Reads the tills' tokens and the members' numbers from files named by the environment.
local tokens, members = {}, {}
local prefix = "bench"
local thread_no = 0
local counter = 0
local sent = {}

local function lines(path)
  local t = {}
  for l in io.lines(path) do if #l > 0 then t[#t + 1] = l end end
  return t
end

function setup(thread)
  thread_no = thread_no + 1
  thread:set("tid", thread_no)
end

function init(args)
  tokens = lines(os.getenv("BENCH_TOKENS"))
  members = lines(os.getenv("BENCH_MEMBERS"))
  -- The warm-up's sales have ids of their own: the measured run never retries them.
  prefix = os.getenv("BENCH_PREFIX") or "bench"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

local function body(id, n)
  local m = members[(n % #members) + 1]
  local qty = (n % 3) + 1
  return string.format(
    '{"external_id":"%s","member_no":"%s","branch":"B1","occurred_at":"%s","currency":"ILS",' ..
    '"lines":[{"sku":"P%03d","quantity":%d,"unit_price":"29.90"}]}',
    id, m, os.getenv("BENCH_AT"), (n % 150) + 1, qty)
end

function request()
  counter = counter + 1
  local b
  if counter % 10 == 0 and #sent > 0 then
    b = sent[(counter * 7919) % #sent + 1]
  else
    b = body(string.format("%s-%d-%d", prefix, tid, counter), counter)
    if #sent < 5000 then sent[#sent + 1] = b else sent[(counter % 5000) + 1] = b end
  end
  local h = {
    ["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1],
    ["Content-Type"] = "application/json",
  }
  return wrk.format(nil, "/api/transactions", h, b)
end

local codes = {}
function response(status, headers, b)
  codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("requests %d, errors: connect %d read %d write %d status %d timeout %d\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
end
