-- wrk: a conditional GET with the ETag in ETAG, which the server answers 304 without running it.
wrk.method = "GET"
wrk.headers["If-None-Match"] = os.getenv("ETAG")
