// Tests assert time budgets against real redis-server processes; running them one at a time keeps those timings
// about Redis and the code rather than about how many other tests share the two CI cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
