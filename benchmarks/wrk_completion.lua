-- POST a completion for a random learner and course.
local ids = {}
local courses = {"CB-THIETBI", "CB-THONGTIN", "CB-GIAOTIEP", "CB-ANTOAN", "CB-VNEID",
                 "CB-THANHTOAN", "CB-AI", "CV-VANBAN", "HS-HOCTAPSO", "LD-CONGCUSO"}
function init(args)
  for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  local body = string.format(
    '{"learner_id":"%s","course_code":"%s","score":%d,"completed_at":"2026-11-01T09:00:00+07:00","method":"class"}',
    ids[math.random(#ids)], courses[math.random(#courses)], math.random(50, 100))
  return wrk.format("POST", "/api/v1/completions", nil, body)
end
