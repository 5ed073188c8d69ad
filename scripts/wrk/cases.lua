-- Many reporters at once: POST /cases with a bearer token, each request a new report at one of
-- the points in $CASES_POINTS (a Lua file returning a list of {lon, lat} inside the district),
-- with an Idempotency-Key unique to its thread and sequence number, so a retried request could
-- never make a second case. Counts the statuses per thread and prints them with the summary.
local token = os.getenv("CASES_TOKEN")
local points = dofile(os.getenv("CASES_POINTS"))
local categories = { "0101", "0102", "0103", "0104", "0105", "0106", "0107", "0108", "1101", "1201" }
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  seq = 0
  created = 0
  other = 0
  statuses = {}
end

function request()
  seq = seq + 1
  local p = points[(seq * 7 + tid * 13) % #points + 1]
  local body = string.format(
    '{"category":"%s","lon":%.7f,"lat":%.7f,"description":"load test report %d-%d"}',
    categories[seq % #categories + 1], p[1], p[2], tid, seq)
  return wrk.format("POST", "/cases", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = string.format("load-%d-%d", tid, seq),
  }, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  else
    other = other + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local total_created, total_other = 0, 0
  for _, thread in ipairs(threads) do
    total_created = total_created + thread:get("created")
    total_other = total_other + thread:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_s=%.1f rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f"
      .. " created=%d other_status=%d errors_socket=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, total_created, total_other, e.connect + e.read + e.write + e.timeout))
end
