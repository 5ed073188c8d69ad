-- wrk summary as one parseable line (used alone for fixed paths, and loaded by items-bbox.lua):
-- requests per second, latency percentiles in milliseconds, the average response size in bytes
-- (status line, headers and body, as read from the socket) and the error counts.
function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_s=%.1f rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f"
      .. " avg_bytes=%.0f errors_status=%d errors_socket=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, summary.bytes / math.max(summary.requests, 1),
    e.status, e.connect + e.read + e.write + e.timeout))
end
