-- Ids 1..N drawn from a Zipf distribution (exponent S): id k is asked with probability proportional to 1/k^S.
-- The CDF is computed once per thread; each draw is a binary search. Seeded per thread, so runs repeat.
dofile("report.lua")

local N = 10000
local S = 1.0
local SEED = 20240611

local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_number", thread_count)
end

function init(args)
   math.randomseed(SEED + (thread_number or 0))
   cdf = {}
   local total = 0
   for k = 1, N do
      total = total + 1 / (k ^ S)
      cdf[k] = total
   end
   for k = 1, N do
      cdf[k] = cdf[k] / total
   end
   base = wrk.path .. "/"
end

local function draw()
   local u = math.random()
   local lo, hi = 1, N
   while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      if cdf[mid] < u then lo = mid + 1 else hi = mid end
   end
   return lo
end

function request()
   return wrk.format(nil, base .. draw())
end
