-- wrk: one line the bench scripts read, appended to a request script:
--   RESULT <requests/s> <p50 ms> <p99 ms> <errors> <requests> <seconds>
-- errors: non-2xx/3xx answers, socket errors and timeouts.
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %.0f %.3f %.3f %d %d %.3f\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    errors, summary.requests, summary.duration / 1e6))
end
