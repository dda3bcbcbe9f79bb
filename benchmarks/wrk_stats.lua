-- GET a random commune's indicators as a national admin.
local codes = {}
function init(args)
  for line in io.lines(os.getenv("BENCH_COMMUNES")) do codes[#codes + 1] = line end
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end
function request()
  return wrk.format("GET", "/api/v1/stats/communes/" .. codes[math.random(#codes)])
end
