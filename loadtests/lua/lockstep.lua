-- The scale-out scenario's simultaneous misses: run with one thread (-t 1) and CONNECTIONS connections against
-- .../scaleout/item/ on one instance, the same at once against every other instance. The thread walks the ids
-- FIRST_ID .. FIRST_ID + KEYS - 1 in order: its first CONNECTIONS requests ask for the first id, the next
-- CONNECTIONS for the second, and so on, so every connection asks for an id at the same moment as the others (they
-- all wait on its one flight, then all move on together). Once every connection has had its answer for the last
-- id, the thread stops; the requests wrk still sends meanwhile repeat the last id.
dofile("report.lua")

local report_done = done

local first_id = tonumber(os.getenv("FIRST_ID") or "1")
local keys = tonumber(os.getenv("KEYS") or "50")
local connections = tonumber(os.getenv("CONNECTIONS") or "20")

function init(args)
   sent = 0
   received = 0
end

function request()
   local k = math.floor(sent / connections)
   if k >= keys then k = keys - 1 end
   sent = sent + 1
   return wrk.format(nil, wrk.path .. tostring(first_id + k))
end

function response(status, headers, body)
   received = received + 1
   if received >= keys * connections then wrk.thread:stop() end
end

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function done(summary, latency, requests)
   report_done(summary, latency, requests)
   local answered = 0
   for _, thread in ipairs(threads) do answered = answered + (thread:get("received") or 0) end
   io.write(string.format("LOCKSTEP answered=%d needed=%d\n", answered, keys * connections))
end
