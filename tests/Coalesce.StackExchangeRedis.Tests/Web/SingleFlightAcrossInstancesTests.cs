using System.Diagnostics;
using System.Net;
using Coalesce.AspNetCore;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// One execution per key across instances (<c>CoalesceAcrossInstances</c>): up to three app instances (each its own
/// WebApplication on Kestrel, container and multiplexer) on one real Redis, one <see cref="FlightBackend"/> behind them.
/// </summary>
public sealed class SingleFlightAcrossInstancesTests
{
    private const int RequestsPerInstance = 20;

    // Scheduling on two shared cores, on top of Redis round trips.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(1);

    // A waiting instance's longest pause between polls (250 ms, jittered up to a quarter more).
    private static readonly TimeSpan LongestPoll = TimeSpan.FromMilliseconds(250 * 1.25);

    private static readonly TimeSpan LostRedisBudget = TimeSpan.FromMilliseconds(200);

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public Task Twenty_simultaneous_requests_on_each_of_three_instances_run_a_memoized_handler_once(RedisTopology topology) =>
        SixtyRequestsRunOnceAsync(topology, "/memo/1", memoized: true);

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public Task Twenty_simultaneous_requests_on_each_of_three_instances_run_a_plain_coalesced_handler_once(RedisTopology topology) =>
        SixtyRequestsRunOnceAsync(topology, "/plain/1", memoized: false);

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public Task Twenty_simultaneous_requests_on_each_of_three_instances_run_a_handler_with_stale_windows_once(RedisTopology topology) =>
        SixtyRequestsRunOnceAsync(topology, "/stale/1", memoized: true);

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public Task Waiting_instances_are_woken_by_the_notice_not_by_polling(RedisTopology topology) => RunAsync(
        topology,
        new FlightBackend(), 2,
        // A waiter would poll again only after about a minute (past the 30 s wait timeout): only the notice can wake it.
        configure: o => (o.RemoteWaitPollInterval, o.RemoteWaitMaxPollInterval) = (TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1)),
        test: async (backend, nodes) =>
        {
            var (a, b) = (nodes[0], nodes[1]);
            await Eventually.TrueAsync(() => a.Flights.IsSubscribed && b.Flights.IsSubscribed, "both instances subscribed to fill notices");
            foreach (var (path, execution) in new[] { ("/plain/1", 1), ("/memo/1", 2) })
            {
                backend.Close();
                var leader = a.Client.GetAsync(path);
                await Eventually.TrueAsync(() => backend.Executions == execution, "A's execution started");
                var waiter = b.Client.GetAsync(path);
                await Eventually.TrueAsync(() => b.Stats.RemoteWaits == execution, "B waits for A");
                await Eventually.TrueAsync(() => a.Flights.WaitedForNotices == execution, "A heard that B waits (A has no local follower)");

                var clock = Stopwatch.StartNew();
                backend.Open();
                using var answer = await waiter;
                var woken = clock.Elapsed;
                using var led = await leader;

                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
                Assert.Equal(await led.Content.ReadAsStringAsync(), await answer.Content.ReadAsStringAsync());
                Assert.True(woken < Slack, $"B answered {woken} after A's execution was let go");
                Console.WriteLine($"{path}: the waiting instance answered {woken.TotalMilliseconds:F1} ms after the leader's handler was let go");
            }

            Assert.Equal(2, backend.Executions);
            Assert.Equal(2, b.Stats.FillsReceived);
            Assert.Equal(2, a.Stats.FillsPublished);
        });

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public Task An_instance_that_dies_mid_execution_is_taken_over_once_its_lease_lapses(RedisTopology topology)
    {
        var lease = TimeSpan.FromSeconds(1);
        return RunAsync(
            topology,
            new FlightBackend { GatedInstance = "n0" }, 2,
            configure: o => (o.LeaseDuration, o.ReadBudget) = (lease, TimeSpan.FromMilliseconds(250)),
            test: async (backend, nodes) =>
            {
                var (a, b) = (nodes[0], nodes[1]);
                var hung = a.Client.GetAsync("/memo/7");
                await Eventually.TrueAsync(() => backend.Executions == 1, "A's handler started (and hangs)");
                var waiter = b.Client.GetAsync("/memo/7");
                await Eventually.TrueAsync(() => b.Stats.RemoteWaits == 1, "B waits for A");

                // A dies: its host stops (the hung request cut off) and is disposed, so nothing renews or releases its lease.
                await a.StopAsync(TimeSpan.FromMilliseconds(100));
                var died = Stopwatch.StartNew();
                using var answer = await waiter;
                var takenOverAfter = died.Elapsed;

                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
                Assert.Equal("7 v1 by n1 #2", await answer.Content.ReadAsStringAsync());
                Assert.Equal(2, backend.Executions);
                Assert.Equal(1, b.Stats.Takeovers);
                Assert.Equal(1, b.Stats.LeasesWon);
                Assert.True(b.Logs.Has(3044), "the takeover is logged");
                Assert.True(takenOverAfter < lease + LongestPoll + Slack, $"taken over {takenOverAfter} after A died (lease {lease})");
                Console.WriteLine($"Takeover {takenOverAfter.TotalMilliseconds:F0} ms after the leading instance died (lease {lease.TotalMilliseconds:F0} ms)");
                await Assert.ThrowsAnyAsync<Exception>(() => hung);
            });
    }

    // Not on Garnet yet: there, about one run in two, C runs the key without seeing the pass marker A set (no lease,
    // no wait, no 2001 log); not yet explained.
    [RedisTheory]
    [MemberData(nameof(RedisDeployment.RedisTopologies), MemberType = typeof(RedisDeployment))]
    public Task Hit_for_pass_reaches_the_other_instances(RedisTopology topology) => RunAsync(
        topology,
        new FlightBackend(), 3,
        coalescing: o => o.PassThroughDuration = TimeSpan.FromSeconds(30),
        test: async (backend, nodes) =>
        {
            var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
            var leader = a.Client.GetAsync("/cookie/1");
            await Eventually.TrueAsync(() => backend.Executions == 1, "A's execution started");
            var waiter = b.Client.GetAsync("/cookie/1");
            await Eventually.TrueAsync(() => b.Stats.RemoteWaits == 1, "B waits for A");
            await Eventually.TrueAsync(() => a.Flights.WaitedForNotices == 1, "A heard that B waits (A has no local follower)");
            backend.Open();

            // A's response sets a cookie: B is told so and runs its own rather than replay A's session.
            using var led = await leader;
            using var own = await waiter;
            Assert.Equal(["session=n0; path=/"], led.Headers.GetValues("Set-Cookie"));
            Assert.Equal(["session=n1; path=/"], own.Headers.GetValues("Set-Cookie"));
            Assert.Equal(2, backend.Executions);
            Assert.Equal(1, a.Stats.Passes);

            // C, which took no part, finds the key marked in Redis: it runs at once (no lease, no wait) and marks the key too.
            using var passed = await c.Client.GetAsync("/cookie/1");
            Assert.Equal(["session=n2; path=/"], passed.Headers.GetValues("Set-Cookie"));
            Assert.Equal(3, backend.Executions);
            Assert.Equal(0, c.Stats.LeasesWon);
            Assert.Equal(0, c.Stats.RemoteWaits);
            Assert.Contains(c.Logs.Entries, e => e.EventId == 2001 && e.Message.Contains("another instance's response", StringComparison.Ordinal));

            // On B the key now passes through: two requests at once both run, neither waits for the other.
            backend.Close();
            var first = b.Client.GetAsync("/cookie/1");
            var second = b.Client.GetAsync("/cookie/1");
            await Eventually.TrueAsync(() => backend.Executions == 5, "both of B's requests run");
            backend.Open();
            (await first).Dispose();
            (await second).Dispose();
        });

    [RedisFact]
    public Task When_Redis_is_paused_mid_wait_the_waiting_instance_runs_its_own_within_budget() =>
        RedisLostMidWaitAsync(redis => redis.Pause());

    [RedisFact]
    public Task When_Redis_is_killed_mid_wait_the_waiting_instance_runs_its_own_within_budget() =>
        RedisLostMidWaitAsync(redis => redis.Kill());

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public Task A_waiting_instance_runs_its_own_after_the_endpoints_wait_timeout(RedisTopology topology) => RunAsync(
        topology,
        new FlightBackend { GatedInstance = "n0" }, 2,
        test: async (backend, nodes) =>
        {
            var (a, b) = (nodes[0], nodes[1]);
            var hung = a.Client.GetAsync("/short/1");
            await Eventually.TrueAsync(() => backend.Executions == 1, "A's execution started (and hangs)");

            var clock = Stopwatch.StartNew();
            using var own = await b.Client.GetAsync("/short/1");
            var waited = clock.Elapsed;

            Assert.Equal("1 v1 by n1 #2", await own.Content.ReadAsStringAsync());
            Assert.Equal(1, b.Stats.RemoteWaits);
            Assert.True(waited >= FlightBackend.ShortWait, $"B waited {waited}, less than the endpoint's wait timeout");
            Assert.True(waited < FlightBackend.ShortWait + Slack, $"B waited {waited} with a wait timeout of {FlightBackend.ShortWait}");
            Assert.True(b.Logs.Has(3043), "the timeout is logged");
            backend.Open();
            (await hung).Dispose();
        });

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public Task A_result_read_before_an_invalidation_is_neither_stored_nor_handed_to_waiting_instances(RedisTopology topology) => RunAsync(
        topology,
        new FlightBackend { GatedInstance = "n0" }, 3,
        test: async (backend, nodes) =>
        {
            var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
            var leader = a.Client.GetAsync("/memo/3");
            await Eventually.TrueAsync(() => backend.Executions == 1, "A read v1 and hangs");
            var waiter = b.Client.GetAsync("/memo/3");
            await Eventually.TrueAsync(() => b.Stats.RemoteWaits == 1, "B waits for A");

            // A write on C while A's execution, which read v1, is still running.
            using var write = await c.Client.PutAsync("/memo/3", null);
            Assert.Equal("v2", await write.Content.ReadAsStringAsync());
            backend.Open();

            // A's client asked before the write and may see v1; B must not be handed it: A releases its lease and B runs.
            Assert.Equal("3 v1 by n0 #1", await (await leader).Content.ReadAsStringAsync());
            Assert.Equal("3 v2 by n1 #2", await (await waiter).Content.ReadAsStringAsync());
            Assert.Equal(0, a.Stats.FillsPublished);
            Assert.Equal(1, b.Stats.Takeovers);

            // Nor does Redis keep v1. (B's run is not kept either: its flight was waiting when the write came, and a flight
            // an invalidation reached keeps nothing — conservative, never stale.)
            Assert.StartsWith("3 v2 ", await (await c.GetAsync("/memo/3")).Content.ReadAsStringAsync(), StringComparison.Ordinal);
        });

    [RedisFact]
    public Task A_lease_nobody_waits_for_ends_without_a_copy_or_a_notice() => RunAsync(
        new FlightBackend(), 2,
        test: async (redis, backend, nodes) =>
        {
            var (a, b) = (nodes[0], nodes[1]);
            backend.Open();
            for (var i = 0; i < 5; i++)
            {
                (await a.Client.GetAsync($"/plain/unique-{i}")).Dispose();
            }

            // Every execution ran under a lease, and the lease is gone; no response went to Redis, no notice to B.
            Assert.Equal(5, a.Stats.LeasesWon);
            Assert.Equal(0, a.Stats.FillsPublished);
            await Eventually.TrueAsync(async () => !(await redis.CommandAsync("KEYS", "*")).Contains("}:l\r\n", StringComparison.Ordinal), "the leases are deleted");
            Assert.DoesNotContain("}:f:", await redis.CommandAsync("KEYS", "*"), StringComparison.Ordinal);
            Assert.Equal(0, b.Stats.FillsReceived);
        });

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public Task Turned_off_each_instance_runs_its_own_flight(RedisTopology topology) => RunAsync(
        topology,
        new FlightBackend(), 2,
        configure: o => o.CoalesceAcrossInstances = false,
        test: async (backend, nodes) =>
        {
            var first = nodes[0].Client.GetAsync("/plain/1");
            var second = nodes[1].Client.GetAsync("/plain/1");
            await Eventually.TrueAsync(() => backend.Executions == 2, "each instance runs its own");
            backend.Open();
            (await first).Dispose();
            (await second).Dispose();
            Assert.All(nodes, n => Assert.Equal((0, 0), (n.Stats.RemoteWaits, n.Stats.LeasesWon)));
        });

    private static Task SixtyRequestsRunOnceAsync(RedisTopology topology, string path, bool memoized) => RunAsync(
        topology,
        new FlightBackend(), 3,
        test: async (backend, nodes) =>
        {
            var before = await WarmUpAsync(backend, nodes);
            var requests = new List<Task<HttpResponseMessage>>();
            foreach (var node in nodes)
            {
                for (var i = 0; i < RequestsPerInstance; i++)
                {
                    requests.Add(node.Client.GetAsync(path));
                }
            }

            // One handler runs; on its instance 19 requests follow it, and on each other instance one request waits for it
            // across instances with 19 local followers behind.
            await Eventually.TrueAsync(
                () => backend.Executions == before + 1 && nodes.All(n => n.Followers == RequestsPerInstance - 1) && nodes.Sum(n => n.Stats.RemoteWaits) == nodes.Count - 1,
                "all 60 requests wait for one execution", seconds: 10);
            backend.Open();
            var responses = await Task.WhenAll(requests);

            var bodies = await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync()));
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            Assert.Single(bodies.Distinct());
            Assert.Equal(before + 1, backend.Executions);
            Assert.Equal(nodes.Count + 1, nodes.Sum(n => n.Stats.LeasesWon));
            Assert.Equal(1, nodes.Sum(n => n.Stats.FillsPublished));
            Assert.Equal(0, nodes.Sum(n => n.Stats.Takeovers));
            Assert.Equal(memoized ? 1 : 0, nodes.Sum(n => n.Stats.L2Writes));

            // A memoized response is kept on every instance (the waiting ones took it from the second level); a plain one
            // nowhere.
            Assert.All(nodes, n => Assert.Equal(memoized ? 1 : 0, n.Cache.Count));
            foreach (var response in responses)
            {
                response.Dispose();
            }
        });

    private static Task RedisLostMidWaitAsync(Action<RedisServerFixture> loseRedis) => RunAsync(
        new FlightBackend { GatedInstance = "n0" }, 2,
        // A small read budget (production's is 50 ms; on two shared cores a cold call can take longer, and then B would
        // rightly run its own before the test could make it wait).
        configure: o => o.ReadBudget = LostRedisBudget,
        test: async (redis, backend, nodes) =>
        {
            await WarmUpAsync(backend, nodes);
            var (a, b) = (nodes[0], nodes[1]);
            var leader = a.Client.GetAsync("/plain/1");
            await Eventually.TrueAsync(() => backend.Executions == 3, "A's execution started");
            var waiter = b.Client.GetAsync("/plain/1");
            await Eventually.TrueAsync(() => b.Stats.RemoteWaits == 1, "B waits for A");

            var clock = Stopwatch.StartNew();
            loseRedis(redis);
            using var own = await waiter;
            var ranOwnAfter = clock.Elapsed;

            // At worst the next poll and its budget.
            Assert.Equal("1 v1 by n1 #4", await own.Content.ReadAsStringAsync());
            Assert.True(ranOwnAfter < LongestPoll + LostRedisBudget + Slack, $"B ran its own {ranOwnAfter} after Redis was lost");
            Console.WriteLine($"Redis lost mid-wait: the waiting instance ran its own after {ranOwnAfter.TotalMilliseconds:F0} ms");

            // Nor is the leader held up: completing its lease finds Redis gone and gives up within budget, after its response.
            backend.Open();
            using var led = await leader;
            Assert.Equal(HttpStatusCode.OK, led.StatusCode);
        });

    /// <summary>
    /// Has each instance lead and complete once (its own key, past the gate), so no Redis call of the scenario runs over
    /// its budget while it is compiled (the instance would then rightly run its own at once). Returns the executions.
    /// </summary>
    private static async Task<int> WarmUpAsync(FlightBackend backend, IReadOnlyList<WebNode> nodes)
    {
        var gated = backend.GatedInstance;
        backend.GatedInstance = "nobody";
        for (var i = 0; i < nodes.Count; i++)
        {
            (await nodes[i].Client.GetAsync($"/plain/warm-up-{i}")).Dispose();
        }

        backend.GatedInstance = gated;
        return backend.Executions;
    }

    /// <summary>
    /// Starts Redis and <paramref name="count"/> synchronized instances on <paramref name="backend"/>, runs the test,
    /// and whatever happens opens the gate, resumes Redis and disposes everything; on failure it prints the Coalesce log
    /// entries of every instance.
    /// </summary>
    private static async Task RunAsync(
        FlightBackend backend, int count, Func<RedisServerFixture, FlightBackend, IReadOnlyList<WebNode>, Task> test,
        Action<RedisCoalescingOptions>? configure = null, Action<RequestCoalescingOptions>? coalescing = null)
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await RunOnAsync(redis.Configuration, backend, count, (b, nodes) => test(redis, b, nodes), configure, coalescing, beforeStop: redis.Resume);
    }

    /// <summary>As above, on a single node or on a three-master cluster, for tests that do nothing to Redis itself.</summary>
    private static async Task RunAsync(
        RedisTopology topology, FlightBackend backend, int count, Func<FlightBackend, IReadOnlyList<WebNode>, Task> test,
        Action<RedisCoalescingOptions>? configure = null, Action<RequestCoalescingOptions>? coalescing = null)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await RunOnAsync(redis.Configuration, backend, count, test, configure, coalescing);
    }

    private static async Task RunOnAsync(
        string configuration, FlightBackend backend, int count, Func<FlightBackend, IReadOnlyList<WebNode>, Task> test,
        Action<RedisCoalescingOptions>? configure, Action<RequestCoalescingOptions>? coalescing, Action? beforeStop = null)
    {
        var nodes = await WebNode.StartSynchronizedAsync(configuration, new Catalog(), count, configure, backend.Endpoints, coalescing);
        try
        {
            await test(backend, nodes);
        }
        catch
        {
            for (var i = 0; i < nodes.Count; i++)
            {
                foreach (var entry in nodes[i].Logs.Entries.Where(e => e.EventId >= 2000))
                {
                    Console.WriteLine($"n{i} {entry.EventId} {entry.Level}: {entry.Message} {entry.Exception?.Message}");
                }
            }

            throw;
        }
        finally
        {
            backend.Open();
            beforeStop?.Invoke();
            await nodes.DisposeAllAsync();
        }
    }
}
