-- Drives one benchmark operation for wrk and prints its result as one JSON line.
--
--   wrk -t 2 -c 8 -d 10s -s operation.lua URL -- METHOD BODIES_FILE ERROR_MARKER SLICES
--
-- BODIES_FILE holds one request body per line (or is "-" for no body). Each
-- request sends the next body in turn, so a file with two bodies alternates
-- between them; a single body is sent unchanged by wrk without calling Lua per
-- request. With SLICES > 1 the bodies are that many equal slices, and thread k
-- sends only slice k (so threads never send requests that race each other).
-- A 2xx response whose body contains ERROR_MARKER counts as a body
-- error (GraphQL reports failures in a 200 response; "-" disables the check).

local threads = {}

-- Runs in the main Lua state once per thread; done() reads the threads' counters.
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

-- Globals (not locals) so that done() can read them with thread:get().
non_2xx = 0
body_errors = 0

local bodies = {}
local next_body = 1
local error_marker = nil

local function read_bodies(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then
      table.insert(lines, line)
    end
  end
  return lines
end

function init(args)
  wrk.method = args[1]
  if args[2] ~= "-" then
    bodies = read_bodies(args[2])
    wrk.headers["Content-Type"] = "application/json"
    wrk.body = bodies[1]
  end
  if args[3] ~= "-" then
    error_marker = args[3]
  end
  local slices = tonumber(args[4] or "1")
  if slices > 1 then
    local size = math.floor(#bodies / slices)
    local first = ((thread_number - 1) % slices) * size
    local mine = {}
    for i = first + 1, first + size do
      table.insert(mine, bodies[i])
    end
    bodies = mine
    wrk.body = bodies[1]
  end
  if #bodies < 2 then
    -- One fixed request: wrk builds it once (static mode) instead of per request.
    request = nil
  end
end

function request()
  local body = bodies[next_body]
  next_body = next_body % #bodies + 1
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  elseif error_marker ~= nil and string.find(body, error_marker, 1, true) then
    body_errors = body_errors + 1
  end
end

function done(summary, latency, requests)
  local total_non_2xx, total_body_errors = 0, 0
  for _, thread in ipairs(threads) do
    total_non_2xx = total_non_2xx + thread:get("non_2xx")
    total_body_errors = total_body_errors + thread:get("body_errors")
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %.0f, "duration_us": %.0f, "p50_us": %.0f, "p99_us": %.0f, '
      .. '"max_us": %.0f, "non_2xx": %.0f, "body_errors": %.0f, "connect_errors": %.0f, '
      .. '"read_errors": %.0f, "write_errors": %.0f, "timeouts": %.0f}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, total_non_2xx, total_body_errors, errors.connect, errors.read,
    errors.write, errors.timeout
  ))
end
