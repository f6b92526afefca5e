-- Every request asks for a new id (?id=<thread>-<counter>), so no two requests can share a response.
dofile("report.lua")

local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_number", thread_count)
end

function init(args)
   prefix = wrk.path .. "?id=" .. tostring(thread_number or 0) .. "-"
   counter = 0
end

function request()
   counter = counter + 1
   return wrk.format(nil, prefix .. counter)
end
