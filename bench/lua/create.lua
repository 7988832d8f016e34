-- Create-heavy mix: POST /api/v1/nuro/create, cycling over request bodies read from a file.
-- Usage: wrk ... -s create.lua http://HOST:PORT -- BODIES_FILE KEY_EVERY
--   BODIES_FILE: one JSON body per line (bench/workload.py writes it).
--   KEY_EVERY:   the API key changes every KEY_EVERY requests (bench-<thread>-<n>), so that no key
--                runs out of the mock's per-key starting credits during a long run.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local bodies = {}
local key_every = 50
local sent = 0

function init(args)
  local path = args[1] or error("create.lua: pass the bodies file after --")
  key_every = tonumber(args[2] or "50")
  for line in io.lines(path) do
    if #line > 0 then
      bodies[#bodies + 1] = line
    end
  end
  if #bodies == 0 then
    error("create.lua: no request bodies in " .. path)
  end
  sent = (tid or 0) * 7  -- threads start at different bodies
end

function request()
  local key = "bench-" .. tostring(tid or 0) .. "-" .. tostring(math.floor(sent / key_every))
  local body = bodies[sent % #bodies + 1]
  sent = sent + 1
  local headers = {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
  }
  return wrk.format("POST", "/api/v1/nuro/create", headers, body)
end
