-- GET one learner row by id from the minimal endpoint.
local ids = {}
function init(args)
  for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
end
function request()
  return wrk.format("GET", "/read/" .. ids[math.random(#ids)])
end
