-- Asks for ?id=1 .. ?id=KEYS (environment, default 10000) over and over, the ids split between wrk's threads, so
-- that after one pass every id has been asked for once and the cache holds KEYS entries (or its bound).
-- FORM=path asks for {path}/1 .. {path}/KEYS instead (the form lua/zipf.lua asks for).
dofile("report.lua")

local thread_count = 0
local keys = tonumber(os.getenv("KEYS") or "10000")
local by_path = os.getenv("FORM") == "path"

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_number", thread_count)
end

function init(args)
   counter = 0
end

function request()
   -- Thread t asks for t, t + threads, t + 2 threads, ...: together the threads cover 1 .. KEYS.
   local threads = tonumber(os.getenv("THREADS") or "2")
   local id = ((counter * threads) + (thread_number or 1) - 1) % keys + 1
   counter = counter + 1
   if by_path then
      return wrk.format(nil, wrk.path .. "/" .. id)
   end
   return wrk.format(nil, wrk.path .. "?id=" .. id)
end
