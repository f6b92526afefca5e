using System.Diagnostics;
using Coalesce.AspNetCore;

namespace Coalesce.StackExchangeRedis.Tests;

public sealed class RedisOutageTests
{
    private static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(400); // scheduling on 2 shared cores

    private static void DefaultBudgets(RedisCoalescingOptions options) => options.ReadBudget = TimeSpan.FromMilliseconds(50);

    [RedisFact]
    public async Task When_Redis_is_killed_calls_return_within_their_budget_the_breaker_opens_and_it_recovers_after_a_restart()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var a = await TestNode.StartAsync(redis.Configuration, DefaultBudgets);
        await a.WaitUntilSynchronizedAsync();

        redis.Kill();
        var worst = TimeSpan.Zero;
        for (var i = 0; i < 20; i++)
        {
            var clock = Stopwatch.StartNew();
            Assert.Null(await a.Store.TryGetAsync("k", ["t"], CancellationToken.None));
            Assert.Equal(SecondLevelWriteResult.Unavailable, await a.Store.TrySetAsync("k", new byte[1], TimeSpan.FromSeconds(1), ["t"], 0, CancellationToken.None));
            Assert.Null(await a.Invalidation.ReadSeqAsync(CancellationToken.None));
            worst = clock.Elapsed > worst ? clock.Elapsed : worst;
        }

        Assert.True(worst < TimeSpan.FromMilliseconds(3 * 50) + Slack, $"three calls took {worst}");
        var invalidation = Stopwatch.StartNew();
        Assert.Equal(0, await a.Invalidation.PublishInvalidationAsync(["t"], CancellationToken.None));
        Assert.True(invalidation.Elapsed < TimeSpan.FromMilliseconds(250) + Slack, $"publishing took {invalidation.Elapsed}");
        await Eventually.TrueAsync(() => a.Stats.BreakerOpen && !a.Stats.Connected, "the breaker opened");

        await redis.RestartAsync();
        await a.WaitUntilSynchronizedAsync();

        Assert.False(a.Stats.BreakerOpen);
        Assert.Equal(SecondLevelWriteResult.Stored, await a.Store.TrySetAsync("k", new byte[1], TimeSpan.FromSeconds(5), ["t"], 1, CancellationToken.None));
        Assert.NotNull(await a.Store.TryGetAsync("k", ["t"], CancellationToken.None));
        Assert.True(a.Logs.Has(3003) && a.Logs.Has(3004), "opening and closing are logged");
    }

    [RedisFact]
    public async Task When_Redis_is_paused_calls_time_out_within_their_budget_the_breaker_opens_and_it_recovers_after_resume()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var a = await TestNode.StartAsync(redis.Configuration, DefaultBudgets);
        await a.WaitUntilSynchronizedAsync();

        redis.Pause();
        var worst = TimeSpan.Zero;
        for (var i = 0; i < 6; i++)
        {
            var clock = Stopwatch.StartNew();
            Assert.Null(await a.Store.TryGetAsync("k", ["t"], CancellationToken.None));
            worst = clock.Elapsed > worst ? clock.Elapsed : worst;
        }

        Assert.True(worst < TimeSpan.FromMilliseconds(50) + Slack, $"a read took {worst} with a 50 ms budget");
        Assert.True(a.Stats.BreakerOpen, "three timeouts in a row open the breaker");
        Assert.True(a.Logs.Has(3002), "timeouts are logged");
        var clockWhileOpen = Stopwatch.StartNew();
        Assert.Null(await a.Store.TryGetAsync("k", ["t"], CancellationToken.None));
        Assert.True(clockWhileOpen.Elapsed < TimeSpan.FromMilliseconds(50), "an open breaker answers at once");

        redis.Resume();
        await a.WaitUntilSynchronizedAsync();
        Assert.Equal(SecondLevelWriteResult.Stored, await a.Store.TrySetAsync("k", new byte[1], TimeSpan.FromSeconds(5), ["t"], 0, CancellationToken.None));
    }

    [RedisFact]
    public async Task A_node_whose_own_heartbeat_lapsed_stops_counting_as_synchronized_and_synchronizes_again()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        // Failures alone never open this breaker: only the lapsed heartbeat can.
        await using var a = await TestNode.StartAsync(redis.Configuration, o => (o.BreakerFailureThreshold, o.ReadBudget) = (1000, TimeSpan.FromMilliseconds(50)));
        await a.WaitUntilSynchronizedAsync();

        redis.Pause();
        await Eventually.TrueAsync(() => !a.Bus.IsSynchronized, "the heartbeat lapsed (liveness 1 s)", seconds: 3);
        await Eventually.TrueAsync(() => a.Stats.BreakerOpen, "the lapse opened the breaker", seconds: 3);
        redis.Resume();
        await a.WaitUntilSynchronizedAsync();

        Assert.Contains(a.Logs.Entries, e => e.EventId == 3003 && e.Message.Contains("heartbeat lapsed", StringComparison.Ordinal));
    }

    [RedisFact]
    public async Task The_app_starts_with_Redis_unreachable_and_connects_when_it_appears()
    {
        await using var redis = RedisServerFixture.NotStarted();
        var clock = Stopwatch.StartNew();
        await using var a = await TestNode.StartAsync(redis.Configuration, DefaultBudgets);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"start took {clock.Elapsed}");

        Assert.Null(await a.Store.TryGetAsync("k", [], CancellationToken.None));
        Assert.Null(await a.Invalidation.ReadSeqAsync(CancellationToken.None));
        Assert.Equal(0, await a.Invalidation.PublishInvalidationAsync(["products"], CancellationToken.None));
        Assert.False(a.Stats.Connected);
        Assert.False(a.Invalidation.IsSynchronized);

        await redis.RestartAsync();
        await a.WaitUntilSynchronizedAsync();

        Assert.True(a.Stats.Connected);
        Assert.Equal(1, a.Invalidation.CurrentSeq); // the queued invalidation went out first
    }

    [RedisFact]
    public async Task Waiting_for_acknowledgements_ends_at_the_ack_timeout_when_a_live_node_does_not_confirm()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2, o => o.AckTimeout = TimeSpan.FromMilliseconds(600));
        var (a, b) = (nodes[0], nodes[1]);
        // B keeps heartbeating but hears nothing: only the timeout can end the writer's wait.
        await b.Connection.Multiplexer!.GetSubscriber().UnsubscribeAllAsync();

        var clock = Stopwatch.StartNew();
        Assert.Equal(1, await a.Invalidation.PublishInvalidationAsync(["t"], CancellationToken.None));

        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(550), TimeSpan.FromMilliseconds(600) + Slack);
        Assert.Equal(1, a.Stats.AckTimeouts);
        Assert.True(a.Logs.Has(3022));
    }
}
