using Coalesce.Testing;

namespace Coalesce.Tests.Caching;

public sealed class MemoizeTests
{
    [Fact]
    public async Task A_memoized_function_runs_once_per_argument()
    {
        using var cache = new MemoCache();
        var runs = new List<int>();
        var square = cache.Memoize<int, int>((n, _) =>
        {
            lock (runs)
            {
                runs.Add(n);
            }

            return Task.FromResult(n * n);
        });

        Assert.Equal(9, await square.InvokeAsync(3));
        Assert.Equal(9, await square.InvokeAsync(3));
        Assert.Equal(16, await square.InvokeAsync(4));
        Assert.Equal([3, 4], runs);
    }

    [Fact]
    public async Task Concurrent_calls_with_one_argument_run_the_function_once()
    {
        using var cache = new MemoCache();
        var gate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        var load = cache.Memoize<string, string>((id, _) =>
        {
            Interlocked.Increment(ref runs);
            return gate.Task;
        });

        var calls = Enumerable.Range(0, 200).Select(_ => Task.Run(() => load.InvokeAsync("42").AsTask())).ToArray();
        while (Volatile.Read(ref runs) == 0)
        {
            await Task.Yield();
        }

        gate.SetResult("loaded");

        Assert.All(await Task.WhenAll(calls), r => Assert.Equal("loaded", r));
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task Clear_forgets_only_that_functions_results()
    {
        using var cache = new MemoCache();
        var runs = 0;
        var first = cache.Memoize<int, int>((n, _) => Task.FromResult(Interlocked.Increment(ref runs) + n));
        var second = cache.Memoize<int, int>((n, _) => Task.FromResult(n));
        await first.InvokeAsync(1);
        await first.InvokeAsync(2);
        await second.InvokeAsync(1);

        Assert.Equal(2, await first.ClearAsync());

        Assert.Equal(1, cache.Count);
        await first.InvokeAsync(1);
        Assert.Equal(3, runs);
    }

    [Fact]
    public async Task Results_carry_the_ttl_the_tags_and_the_key_generators_key()
    {
        var time = new ManualTimeProvider();
        using var cache = new MemoCache(new MemoCacheOptions { TimeProvider = time });
        var runs = 0;
        var load = cache.Memoize<(string Tenant, int Id), int>(
            (arg, _) => Task.FromResult(Interlocked.Increment(ref runs)),
            new MemoizeOptions<(string Tenant, int Id)>
            {
                Name = "orders",
                Ttl = TimeSpan.FromMinutes(1),
                Tags = ["orders"],
                KeyGenerator = arg => $"{arg.Tenant}/{arg.Id}",
            });

        await load.InvokeAsync(("acme", 7));

        var entry = Assert.Single(cache.Entries());
        Assert.Equal("memo:orders:acme/7", entry.Key);
        Assert.Contains("orders", entry.Tags);
        time.Advance(TimeSpan.FromMinutes(1));
        await load.InvokeAsync(("acme", 7));
        Assert.Equal(2, runs);
        Assert.Equal(1, await cache.InvalidateByTagAsync("orders"));
    }

    [Fact]
    public async Task A_failure_is_not_remembered()
    {
        using var cache = new MemoCache();
        var calls = 0;
        var flaky = cache.Memoize<int, int>((n, _) =>
            Interlocked.Increment(ref calls) == 1 ? Task.FromException<int>(new IOException("flaky")) : Task.FromResult(n));

        await Assert.ThrowsAsync<IOException>(() => flaky.InvokeAsync(1).AsTask());
        Assert.Equal(1, await flaky.InvokeAsync(1));
    }

    [Fact]
    public void A_recursive_sync_function_computes_each_argument_once()
    {
        using var cache = new MemoCache();
        var runs = 0;
        MemoizedSyncFunction<int, long>? fibonacci = null;
        fibonacci = cache.MemoizeSync<int, long>(n =>
        {
            runs++;
            return n <= 1 ? n : fibonacci!.Invoke(n - 1) + fibonacci.Invoke(n - 2);
        });

        Assert.Equal(2_880_067_194_370_816_120, fibonacci.Invoke(90));
        Assert.Equal(91, runs);
        Assert.Equal(91, fibonacci.Clear());
    }

    [Fact]
    public async Task Concurrent_sync_calls_with_one_argument_run_the_function_once()
    {
        var runs = 0;
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var slow = Memoizer.MemoizeSync<int, int>(n =>
        {
            Interlocked.Increment(ref runs);
            inside.Set();
            release.Wait();
            return n;
        });

        var leader = Task.Factory.StartNew(() => slow.Invoke(5), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        inside.Wait();
        var followers = Enumerable.Range(0, 20)
            .Select(_ => Task.Factory.StartNew(() => slow.Invoke(5), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))
            .ToArray();
        release.Set();

        Assert.Equal(5, await leader);
        Assert.All(await Task.WhenAll(followers), f => Assert.Equal(5, f));
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task Memoizer_gives_a_function_its_own_cache_bounded_by_MaxEntries()
    {
        var time = new ManualTimeProvider();
        var double_ = Memoizer.Memoize<int, int>(
            (n, _) => Task.FromResult(n * 2), new MemoizeOptions<int> { MaxEntries = 2, TimeProvider = time, Ttl = TimeSpan.FromSeconds(1) });

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(i * 2, await double_.InvokeAsync(i));
        }

        Assert.Equal(2, double_.Cache.Count);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(double_.Cache.Keys());
        Assert.Equal(Memoizer.DefaultMaxEntries, FillUntilBounded(Memoizer.MemoizeSync<int, int>(n => n)));
    }

    [Fact]
    public void MaxEntries_is_rejected_for_a_function_memoized_into_a_shared_cache()
    {
        using var cache = new MemoCache();

        var error = Assert.Throws<ArgumentException>(() => cache.MemoizeSync<int, int>(n => n, new MemoizeOptions<int> { MaxEntries = 5 }));

        Assert.Contains("MaxEntries", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Memoizer.MemoizeSync<int, int>(n => n, new MemoizeOptions<int> { MaxEntries = 0 }));
    }

    private static int FillUntilBounded(MemoizedSyncFunction<int, int> identity)
    {
        for (var i = 0; i < Memoizer.DefaultMaxEntries + 10; i++)
        {
            identity.Invoke(i);
        }

        return identity.Cache.Count;
    }

    [Fact]
    public void An_argument_type_without_an_exact_text_form_needs_a_key_generator()
    {
        using var cache = new MemoCache();

        var error = Assert.Throws<ArgumentException>(() => cache.Memoize<Filter, int>((_, _) => Task.FromResult(1)));

        Assert.Equal("KeyGenerator", error.ParamName);
        Assert.Contains(typeof(Filter).FullName!, error.Message, StringComparison.Ordinal);
        var withGenerator = cache.Memoize<Filter, int>((f, _) => Task.FromResult(f.Size), new MemoizeOptions<Filter> { KeyGenerator = f => $"size:{f.Size}" });
        Assert.NotNull(withGenerator);
    }

    [Fact]
    public async Task Tuple_arguments_whose_texts_would_collide_keep_their_own_results()
    {
        using var cache = new MemoCache();
        var join = cache.Memoize<(string, string), string>((pair, _) => Task.FromResult($"{pair.Item1}+{pair.Item2}"));

        Assert.Equal("a, b+c", await join.InvokeAsync(("a, b", "c")));
        Assert.Equal("a+b, c", await join.InvokeAsync(("a", "b, c")));
        Assert.Equal("a, b+c", await join.InvokeAsync(("a, b", "c")));
    }

    private sealed class Filter
    {
        public int Size { get; init; }
    }
}
