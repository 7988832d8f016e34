-- Poll-heavy mix: GET /api/v1/nuro/task/{id} over pre-created tasks, picked at random.
-- Usage: wrk ... -s poll.lua http://HOST:PORT -- IDS_FILE
--   IDS_FILE: one "API_KEY TASK_ID" pair per line (tasks are private to the key that created them).

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local requests = {}

function init(args)
  local path = args[1] or error("poll.lua: pass the ids file after --")
  for line in io.lines(path) do
    local key, id = line:match("^(%S+)%s+(%S+)%s*$")
    if key then
      requests[#requests + 1] = wrk.format("GET", "/api/v1/nuro/task/" .. id, { ["Authorization"] = "Bearer " .. key })
    end
  end
  if #requests == 0 then
    error("poll.lua: no 'key id' lines in " .. path)
  end
  math.randomseed(os.time() + 7919 * (tid or 0))
end

function request()
  return requests[math.random(#requests)]
end
