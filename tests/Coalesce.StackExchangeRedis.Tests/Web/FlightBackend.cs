using System.Collections.Concurrent;
using System.Globalization;
using Coalesce.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// The backend behind every instance of a single-flight test: counts executions across instances, holds them at a
/// gate until the test opens it, and versions its data so a test can tell what an execution read.
/// </summary>
/// <remarks>
/// Endpoints (each names the instance and the execution number in its body, so a replay is told from a fresh run):
/// <c>/memo/{id}</c> memoized, tagged <c>flight:{id}</c>; <c>/stale/{id}</c> the same with a stale-while-revalidate
/// window; <c>/plain/{id}</c> coalesced, not memoized;
/// <c>/cookie/{id}</c> sets a cookie (never shared); <c>/short/{id}</c> waits at most 400 ms for another request;
/// <c>PUT /memo/{id}</c> writes (invalidates <c>flight:{id}</c>).
/// </remarks>
internal sealed class FlightBackend
{
    public static readonly TimeSpan ShortWait = TimeSpan.FromMilliseconds(400);

    private readonly ConcurrentDictionary<string, int> _versions = new(StringComparer.Ordinal);
    private TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _executions;

    /// <summary>Executions on every instance together.</summary>
    public int Executions => Volatile.Read(ref _executions);

    /// <summary>When set, only this instance's executions wait at the gate; the others run straight through.</summary>
    public string? GatedInstance { get; set; }

    public void Open() => Volatile.Read(ref _gate).TrySetResult();

    /// <summary>Closes the gate again (for the executions that start from now on).</summary>
    public void Close() => Volatile.Write(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>The endpoints of instance <paramref name="index"/>, named <c>n{index}</c>.</summary>
    public Action<WebApplication> Endpoints(int index) => app =>
    {
        var instance = "n" + index.ToString(CultureInfo.InvariantCulture);
        app.MapGet("/memo/{id}", (string id) => RunAsync(instance, id))
            .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1)).Tag("flight:{id}"));
        app.MapGet("/stale/{id}", (string id) => RunAsync(instance, id))
            .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1)).StaleWhileRevalidate(TimeSpan.FromMinutes(1)).Tag("flight:{id}"));
        app.MapGet("/plain/{id}", (string id) => RunAsync(instance, id));
        app.MapGet("/cookie/{id}", (string id, HttpContext context) =>
        {
            context.Response.Cookies.Append("session", instance);
            return RunAsync(instance, id);
        });
        app.MapGet("/short/{id}", (string id) => RunAsync(instance, id))
            .WithCoalescing(p => p.WaitTimeout(ShortWait));
        app.MapPut("/memo/{id}", (string id) => Results.Text($"v{_versions.AddOrUpdate(id, 2, static (_, v) => v + 1)}"))
            .InvalidatesTags("flight:{id}");
    };

    private async Task<IResult> RunAsync(string instance, string id)
    {
        var execution = Interlocked.Increment(ref _executions);

        // Read before the gate, as a handler reads its data before the slow part of its work.
        var version = _versions.GetOrAdd(id, 1);
        if (GatedInstance is null || GatedInstance == instance)
        {
            // Deliberately deaf to the request's abort: a hung handler that its host cannot stop.
            await Volatile.Read(ref _gate).Task;
        }

        return Results.Text($"{id} v{version} by {instance} #{execution}");
    }
}
