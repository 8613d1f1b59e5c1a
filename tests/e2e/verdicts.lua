-- verdicts.lua: a wrk script for tests/e2e/gitops_loop.sh. It posts AdmissionReviews to
-- /validate in turn and checks every answer: status 200, the uid echoed, and `allowed` as the
-- test expects for that review. done() prints one line of counts the test asserts on.
--   wrk ... -s verdicts.lua URL -- REVIEW.json allowed|denied [REVIEW.json allowed|denied]...
-- A denied review's answer must also name the provenance check, so a denial for another
-- reason (a broken rule set, an error) counts as wrong. done() also lists the commits the
-- answers were decided at (their `commit` audit annotation).

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

local bodies = {}
local expect = {} -- uid -> true (allowed) | false (denied)
local turn = 0

function init(args)
    for i = 1, #args, 2 do
        local f = assert(io.open(args[i], "rb"))
        local body = f:read("*a")
        f:close()
        local uid = assert(body:match('"request"%s*:%s*{%s*"uid"%s*:%s*"([^"]+)"'),
            args[i] .. ": no request.uid first in the request")
        table.insert(bodies, body)
        expect[uid] = args[i + 1] == "allowed"
    end
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    ok, allowed, denied, wrong, non200 = 0, 0, 0, 0, 0
    sample = ""
    commits = " " -- the commit annotations seen, space-separated
end

function request()
    turn = turn % #bodies + 1
    return wrk.format(nil, "/validate?timeout=5s", nil, bodies[turn])
end

local function miss(why, body)
    wrong = wrong + 1
    if sample == "" then
        sample = why .. ": " .. body:sub(1, 300)
    end
end

function response(status, headers, body)
    if status ~= 200 then
        non200 = non200 + 1
        if sample == "" then
            sample = "status " .. status .. ": " .. body:sub(1, 300)
        end
        return
    end
    local uid = body:match('"uid"%s*:%s*"([^"]+)"')
    local verdict = body:match('"allowed"%s*:%s*(%a+)')
    local want = expect[uid]
    if want == nil then
        return miss("unknown uid", body)
    end
    if verdict ~= (want and "true" or "false") then
        return miss("wrong verdict", body)
    end
    if not want and not body:find("sealgate/provenance", 1, true) then
        return miss("denied for another reason", body)
    end
    ok = ok + 1
    if want then allowed = allowed + 1 else denied = denied + 1 end
    local commit = body:match('"commit"%s*:%s*"(%x+)"')
    if commit and not commits:find(" " .. commit .. " ", 1, true) then
        commits = commits .. commit .. " "
    end
end

function done(summary, latency, requests)
    local t = { ok = 0, allowed = 0, denied = 0, wrong = 0, non200 = 0 }
    local samples = {}
    local seen = " "
    for _, thread in ipairs(threads) do
        for c in thread:get("commits"):gmatch("%x+") do
            if not seen:find(" " .. c .. " ", 1, true) then seen = seen .. c .. " " end
        end
        for k in pairs(t) do
            t[k] = t[k] + thread:get(k)
        end
        local s = thread:get("sample")
        if s ~= "" then table.insert(samples, s) end
    end
    local e = summary.errors
    io.write(string.format(
        "verdicts: requests=%d checked=%d ok=%d allowed=%d denied=%d wrong=%d non200=%d " ..
        "connect=%d read=%d write=%d timeout=%d status=%d p50=%.2fms p99=%.2fms\n",
        summary.requests, t.ok + t.wrong + t.non200, t.ok, t.allowed, t.denied, t.wrong, t.non200,
        e.connect, e.read, e.write, e.timeout, e.status,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000))
    io.write("verdicts: commits:" .. seen .. "\n")
    for _, s in ipairs(samples) do
        io.write("verdicts: first miss: " .. s .. "\n")
    end
end
