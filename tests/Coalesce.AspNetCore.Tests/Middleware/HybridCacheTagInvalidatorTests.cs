using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary><c>InvalidatesTags</c> reaching the app's <c>HybridCache</c> too, before the 2xx and never at the write's cost.</summary>
public sealed class HybridCacheTagInvalidatorTests
{
    [Fact]
    public async Task InvalidatesTags_removes_the_tags_from_the_apps_HybridCache_too()
    {
        await using var app = await TestApp.StartAsync(
            a => a.MapPut("/products/{id}", () => Results.NoContent()).InvalidatesTags("product:{id}"),
            services: s => s.AddHybridCache());
        var hybrid = app.Services.GetRequiredService<HybridCache>();
        await hybrid.SetAsync("product-1", "old widget", tags: ["product:1"]);
        await hybrid.SetAsync("product-2", "old gadget", tags: ["product:2"]);

        Assert.Equal(HttpStatusCode.NoContent, (await app.Client.PutAsync("/products/1", null)).StatusCode);

        Assert.Equal("fresh", await hybrid.GetOrCreateAsync("product-1", _ => ValueTask.FromResult("fresh")));
        Assert.Equal("old gadget", await hybrid.GetOrCreateAsync("product-2", _ => ValueTask.FromResult("fresh")));
    }

    [Fact]
    public async Task HybridCache_is_invalidated_before_the_2xx_is_sent_and_only_for_a_2xx()
    {
        var hybrid = new RecordingHybridCache();
        await using var app = await TestApp.StartAsync(
            a =>
            {
                a.MapPut("/products/{id}", () => Results.NoContent()).InvalidatesTags("products", "product:{id}");
                a.MapDelete("/products/{id}", () => Results.NotFound()).InvalidatesTags("products");
            },
            services: s => s.AddSingleton<HybridCache>(hybrid));

        Assert.Equal(HttpStatusCode.NotFound, (await app.Client.DeleteAsync("/products/3")).StatusCode);
        Assert.Empty(hybrid.Removed);

        var write = app.Client.PutAsync("/products/3", null);
        await hybrid.Entered.Task.WaitAsync(TestApp.Patience);
        await Task.Delay(50);
        Assert.False(write.IsCompleted);                                               // the 2xx waits for HybridCache
        hybrid.Release.SetResult();

        Assert.Equal(HttpStatusCode.NoContent, (await write).StatusCode);
        Assert.Equal(["products", "product:3"], hybrid.Removed);
    }

    [Fact]
    public async Task A_write_still_succeeds_when_HybridCache_removal_throws_and_the_failure_is_logged()
    {
        var hybrid = new RecordingHybridCache { Failure = new InvalidOperationException("L2 is down") };
        hybrid.Release.SetResult();
        await using var app = await TestApp.StartAsync(
            a => a.MapPut("/products/{id}", () => Results.NoContent()).InvalidatesTags("product:{id}"),
            services: s =>
            {
                s.AddSingleton<HybridCache>(hybrid);
                s.AddFakeLogging();
            });
        await app.Cache.SetAsync("memo", "kept until the write", tags: ["product:1"]);

        Assert.Equal(HttpStatusCode.NoContent, (await app.Client.PutAsync("/products/1", null)).StatusCode);

        Assert.False(await app.Cache.HasAsync("memo"));                               // Coalesce's own eviction still happened
        var logged = Assert.Single(app.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Id == 2030);
        Assert.Equal(LogLevel.Error, logged.Level);
        Assert.Contains("product:1", logged.Message, StringComparison.Ordinal);
        Assert.Equal("L2 is down", logged.Exception?.Message);
    }

    /// <summary>A HybridCache that records tag removals, can hold them until released, and can fail them.</summary>
    private sealed class RecordingHybridCache : HybridCache
    {
        public List<string> Removed { get; } = [];

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Exception? Failure { get; init; }

        public override async ValueTask RemoveByTagAsync(string tag, CancellationToken cancellationToken = default)
        {
            Entered.TrySetResult();
            await Release.Task;
            if (Failure is not null)
            {
                throw Failure;
            }

            lock (Removed)
            {
                Removed.Add(tag);
            }
        }

        public override ValueTask<T> GetOrCreateAsync<TState, T>(
            string key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, HybridCacheEntryOptions? options = null,
            IEnumerable<string>? tags = null, CancellationToken cancellationToken = default) => factory(state, cancellationToken);

        public override ValueTask SetAsync<T>(
            string key, T value, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default) =>
            ValueTask.CompletedTask;

        public override ValueTask RemoveAsync(string key, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
    }
}
