-- wrk: POST the JSON body in the file named by BODY_FILE (the bench scripts' GraphQL queries).
local f = io.open(os.getenv("BODY_FILE"), "r")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
