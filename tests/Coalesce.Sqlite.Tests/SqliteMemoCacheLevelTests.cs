using System.Text;
using System.Text.Json.Serialization;
using Coalesce.Testing;
using Microsoft.Data.Sqlite;

namespace Coalesce.Sqlite.Tests;

public sealed record Forecast(string City, int Celsius);

[JsonSerializable(typeof(Forecast))]
[JsonSerializable(typeof(string))]
internal sealed partial class SqliteTestJsonContext : JsonSerializerContext;

public sealed class SqliteMemoCacheLevelTests : IDisposable
{
    private static readonly CacheEntryOptions OneHour = new() { Ttl = TimeSpan.FromHours(1), Tags = ["city:oslo"] };
    private readonly string _directory = Directory.CreateTempSubdirectory("coalesce-sqlite-").FullName;
    private readonly ManualTimeProvider _time = new();

    private string PathOf => Path.Combine(_directory, "cache.db");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_value_survives_a_restart_of_the_cache_and_the_level()
    {
        using (var level = NewLevel())
        using (var cache = NewCache(level))
        {
            await cache.GetOrFetchAsync("forecast:oslo", _ => Task.FromResult(new Forecast("Oslo", -3)), SqliteTestJsonContext.Default.Forecast, OneHour);
        }

        using var restartedLevel = NewLevel();
        using var restarted = NewCache(restartedLevel);
        var read = await restarted.GetOrFetchAsync<Forecast>(
            "forecast:oslo", _ => throw new InvalidOperationException("must not run"), SqliteTestJsonContext.Default.Forecast, OneHour);

        Assert.Equal(new Forecast("Oslo", -3), read);
        Assert.Equal(1, restarted.GetStats().SecondLevelHits);
    }

    [Fact]
    public async Task The_time_to_live_is_honoured_across_a_restart()
    {
        using (var level = NewLevel())
        using (var cache = NewCache(level))
        {
            await cache.GetOrFetchAsync("k", _ => Task.FromResult("old"), SqliteTestJsonContext.Default.String, OneHour);
        }

        _time.Advance(TimeSpan.FromMinutes(50));
        using (var level = NewLevel())
        using (var cache = NewCache(level))
        {
            Assert.Equal("old", await cache.GetOrFetchAsync("k", _ => Task.FromResult("new"), SqliteTestJsonContext.Default.String, OneHour));
            _time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
            Assert.False(cache.TryGet<string>("k", out _), "the local copy got the remaining ten minutes only");
        }

        using var lastLevel = NewLevel();
        using var last = NewCache(lastLevel);
        Assert.Equal("new", await last.GetOrFetchAsync("k", _ => Task.FromResult("new"), SqliteTestJsonContext.Default.String, OneHour));
    }

    [Fact]
    public async Task Tag_key_and_clear_invalidations_are_kept_across_a_restart()
    {
        using (var level = NewLevel())
        using (var cache = NewCache(level))
        {
            await cache.GetOrFetchAsync("tagged", _ => Task.FromResult("v1"), SqliteTestJsonContext.Default.String, OneHour);
            await cache.GetOrFetchAsync("keyed", _ => Task.FromResult("v1"), SqliteTestJsonContext.Default.String, new CacheEntryOptions { Ttl = TimeSpan.FromHours(1) });
            await cache.GetOrFetchAsync("kept", _ => Task.FromResult("v1"), SqliteTestJsonContext.Default.String, new CacheEntryOptions { Ttl = TimeSpan.FromHours(1) });
            await cache.InvalidateByTagAsync("city:oslo");
            await cache.DeleteAsync("keyed");
        }

        using (var level = NewLevel())
        using (var cache = NewCache(level))
        {
            Assert.Equal("v2", await cache.GetOrFetchAsync("tagged", _ => Task.FromResult("v2"), SqliteTestJsonContext.Default.String, OneHour));
            Assert.Equal("v2", await cache.GetOrFetchAsync("keyed", _ => Task.FromResult("v2"), SqliteTestJsonContext.Default.String, new CacheEntryOptions { Ttl = TimeSpan.FromHours(1) }));
            Assert.Equal("v1", await cache.GetOrFetchAsync("kept", _ => Task.FromResult("v2"), SqliteTestJsonContext.Default.String, new CacheEntryOptions { Ttl = TimeSpan.FromHours(1) }));
            await cache.InvalidateByPatternAsync("nothing-matches-*");
        }

        using var lastLevel = NewLevel();
        using var last = NewCache(lastLevel);
        Assert.Equal("v3", await last.GetOrFetchAsync("kept", _ => Task.FromResult("v3"), SqliteTestJsonContext.Default.String, new CacheEntryOptions { Ttl = TimeSpan.FromHours(1) }));
    }

    [Fact]
    public async Task Two_caches_on_one_file_share_values_and_a_fetch_that_began_before_the_others_invalidation_is_not_written()
    {
        using var levelA = NewLevel();
        using var levelB = NewLevel();
        using var a = NewCache(levelA);
        using var b = NewCache(levelB);
        await a.GetOrFetchAsync("shared", _ => Task.FromResult("from a"), SqliteTestJsonContext.Default.String, OneHour);
        Assert.Equal("from a", await b.GetOrFetchAsync<string>("shared", _ => throw new InvalidOperationException("must not run"), SqliteTestJsonContext.Default.String, OneHour));

        var value = await a.GetOrFetchAsync(
            "raced",
            async _ =>
            {
                await b.InvalidateByTagAsync("city:oslo", CancellationToken.None);
                return "read before the write";
            },
            SqliteTestJsonContext.Default.String,
            OneHour);

        Assert.Equal("read before the write", value);
        Assert.Equal(1, a.GetStats().SecondLevelSkips);
        using var cLevel = NewLevel();
        using var c = NewCache(cLevel);
        Assert.Equal("fresh", await c.GetOrFetchAsync("raced", _ => Task.FromResult("fresh"), SqliteTestJsonContext.Default.String, OneHour));
    }

    [Fact]
    public async Task Other_tags_a_large_value_and_a_bad_payload_are_misses_never_errors()
    {
        using var level = new SqliteMemoCacheLevel(new SqliteMemoCacheLevelOptions { Path = PathOf, TimeProvider = _time, MaxEntryBytes = 50 });
        Assert.Equal(MemoCacheLevelWriteResult.Stored, await level.TrySetAsync("k", Encoding.UTF8.GetBytes("{not json"), TimeSpan.FromHours(1), ["a"], 0, CancellationToken.None));
        Assert.Null(await level.TryGetAsync("k", ["b"], CancellationToken.None));
        Assert.NotNull(await level.TryGetAsync("k", ["a"], CancellationToken.None));
        using var cache = NewCache(level);

        Assert.Equal("fetched", await cache.GetOrFetchAsync("k", _ => Task.FromResult("fetched"), SqliteTestJsonContext.Default.String, new CacheEntryOptions { Ttl = TimeSpan.FromHours(1), Tags = ["a"] }));
        var large = new string('x', 100);
        Assert.Equal(large, await cache.GetOrFetchAsync("large", _ => Task.FromResult(large), SqliteTestJsonContext.Default.String, OneHour));
        Assert.True(cache.TryGet<string>("large", out _));
        Assert.Equal(MemoCacheLevelWriteResult.TooLarge, await level.TrySetAsync("large", new byte[51], TimeSpan.FromHours(1), [], 0, CancellationToken.None));
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_fails_at_construction_and_bad_options_name_themselves()
    {
        await File.WriteAllTextAsync(PathOf, new string('x', 4096));

        Assert.Throws<SqliteException>(() => new SqliteMemoCacheLevel(new SqliteMemoCacheLevelOptions { Path = PathOf }));
        Assert.Contains("Path", Assert.Throws<ArgumentException>(() => new SqliteMemoCacheLevel(new SqliteMemoCacheLevelOptions())).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SqliteMemoCacheLevel(new SqliteMemoCacheLevelOptions { Path = PathOf, MaxEntryBytes = 0 }));
    }

    [Fact]
    public async Task A_memoized_function_remembers_its_results_across_a_restart()
    {
        var runs = 0;
        MemoizedFunction<string, Forecast> Memoize(MemoCache cache) => cache.Memoize<string, Forecast>(
            (city, _) =>
            {
                runs++;
                return Task.FromResult(new Forecast(city, 20));
            },
            new MemoizeOptions<string> { Name = "forecast", Ttl = TimeSpan.FromHours(1), ResultTypeInfo = SqliteTestJsonContext.Default.Forecast });

        using (var level = NewLevel())
        using (var cache = NewCache(level))
        {
            await Memoize(cache).InvokeAsync("Rome");
        }

        using var againLevel = NewLevel();
        using var again = NewCache(againLevel);
        Assert.Equal(new Forecast("Rome", 20), await Memoize(again).InvokeAsync("Rome"));
        Assert.Equal(1, runs);
    }

    private SqliteMemoCacheLevel NewLevel() => new(new SqliteMemoCacheLevelOptions { Path = PathOf, TimeProvider = _time });

    private MemoCache NewCache(SqliteMemoCacheLevel level) => new(new MemoCacheOptions { TimeProvider = _time, SecondLevel = level });
}
