-- GET the caller (the cheapest authenticated request the service answers).
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end
function request()
  return wrk.format("GET", "/api/v1/auth/me")
end
