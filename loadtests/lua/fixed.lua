-- Every request asks for the URL given to wrk: one key for all connections.
dofile("report.lua")
