-- POST one row to the minimal endpoint.
local ids = {}
function init(args)
  for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  local body = string.format('{"learner_id":"%s","score":%d}', ids[math.random(#ids)],
                             math.random(50, 100))
  return wrk.format("POST", "/write", nil, body)
end
