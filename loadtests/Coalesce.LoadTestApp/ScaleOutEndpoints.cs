using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Coalesce.StackExchangeRedis;
using StackExchange.Redis;

namespace Coalesce.LoadTestApp;

/// <summary>
/// The scale-out scenario's endpoints (see loadtests/README.md): <c>GET /scaleout/item/{id}</c>, memoized with the
/// tag <c>item:{id}</c> over a ~20 ms backend that counts its executions per id, and <c>PUT /scaleout/item/{id}</c>,
/// which bumps the item's version in the shared store and invalidates the tag. <c>GET /_scaleout/counts.txt</c> has
/// the executions per id and, when the app runs on Redis, the Redis level's figures.
/// </summary>
internal static class ScaleOutEndpoints
{
    public static readonly TimeSpan Work = TimeSpan.FromMilliseconds(20);

    public static void MapScaleOut(this WebApplication app, ScaleOutBackend backend)
    {
        app.MapGet("/scaleout/item/{id:int}", async (int id, HttpContext context) =>
            {
                backend.Executed(id);
                // Read first, then work: a flight that read the old version may finish after a write's invalidation,
                // which is the race the Redis level must not store.
                var version = await backend.ReadVersionAsync(id);
                await Task.Delay(Work, context.RequestAborted);
                context.Response.ContentType = "text/plain";
                await context.Response.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"id={id} version={version}\n"));
            })
            .WithCoalescing(p => p.Memoize(ScenarioEndpoints.ItemTtl).Tag("item:{id}"));

        app.MapPut("/scaleout/item/{id:int}", async (int id, HttpContext context) =>
            {
                var version = await backend.WriteVersionAsync(id);
                context.Response.ContentType = "text/plain";
                await context.Response.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"id={id} version={version}\n"));
            })
            .InvalidatesTags("item:{id}");

        app.MapGet("/_scaleout/counts.txt", (IServiceProvider services) =>
            {
                var text = new StringBuilder();
                foreach (var (id, count) in backend.Executions.OrderBy(e => e.Key))
                {
                    text.Append(CultureInfo.InvariantCulture, $"exec {id} {count}\n");
                }

                if (services.GetService<RedisCoalescingStatsSource>() is { } redis)
                {
                    var s = redis.GetSnapshot();
                    text.Append(CultureInfo.InvariantCulture,
                        $"redis connected {(s.Connected ? 1 : 0)}\nredis l2_hits {s.L2Hits}\nredis l2_misses {s.L2Misses}\nredis l2_writes {s.L2Writes}\n" +
                        $"redis remote_waits {s.RemoteWaits}\nredis leases_won {s.LeasesWon}\nredis takeovers {s.Takeovers}\n" +
                        $"redis fills_published {s.FillsPublished}\nredis fills_received {s.FillsReceived}\nredis passes {s.Passes}\n" +
                        $"redis invalidations_published {s.InvalidationsPublished}\nredis invalidations_received {s.InvalidationsReceived}\n" +
                        $"redis invalidations_deferred {s.InvalidationsDeferred}\nredis ack_timeouts {s.AckTimeouts}\nredis errors {s.Errors}\n" +
                        $"redis breaker_openings {s.BreakerOpenings}\n");
                }

                return Results.Text(text.ToString());
            })
            .DisableCoalescing();
    }
}

/// <summary>
/// The scale-out scenario's "database": each item's version, in Redis (shared by the instances, under a key apart
/// from Coalesce's) when the app runs with <c>--redis</c>, else in the process; and the executions per id.
/// </summary>
internal sealed class ScaleOutBackend(IConnectionMultiplexer? redis, string prefix) : IDisposable
{
    private readonly ConcurrentDictionary<int, long> _executions = new();
    private readonly ConcurrentDictionary<int, long> _localVersions = new();

    public IEnumerable<KeyValuePair<int, long>> Executions => _executions;

    public void Executed(int id) => _executions.AddOrUpdate(id, 1, static (_, n) => n + 1);

    public async Task<long> ReadVersionAsync(int id) =>
        redis is null ? _localVersions.GetValueOrDefault(id) : (long?)await redis.GetDatabase().StringGetAsync(Key(id)) ?? 0;

    public async Task<long> WriteVersionAsync(int id) =>
        redis is null ? _localVersions.AddOrUpdate(id, 1, static (_, v) => v + 1) : await redis.GetDatabase().StringIncrementAsync(Key(id));

    private RedisKey Key(int id) => string.Create(CultureInfo.InvariantCulture, $"{prefix}-db:item:{id}");

    public void Dispose() => redis?.Dispose();
}
