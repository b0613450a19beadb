-- wrk script for the tollgate benchmark: POST one AdmissionReview body over keep-alive and print
-- the run's figures as one JSON line. Arguments (after `--`): BODY_FILE [DELAY_MS]
-- DELAY_MS, when given, makes each connection wait a random 0..2*DELAY_MS ms (mean DELAY_MS) before
-- each request: a paced run at about connections * 1000 / (DELAY_MS + latency) requests per second.
-- The spread keeps the connections from firing in step, which would queue them in bursts.

function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  file:close()
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, */*"
  if args[2] then
    local pause = tonumber(args[2])
    math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
    delay = function() return math.random(0, 2 * pause) end
  end
end

-- Count answers that are not 200 (wrk counts only >= 400 as errors on its own).
local bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"bytes":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d,' ..
    '"meanUs":%.1f,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
