namespace Coalesce.Tests.Caching;

public sealed class MemoCacheInvalidationTests
{
    [Fact]
    public async Task InvalidateByTag_removes_only_tagged_entries_and_returns_how_many_went()
    {
        using var cache = new MemoCache();
        await cache.SetAsync("p1", 1, tags: ["products"]);
        await cache.SetAsync("p2", 2, tags: ["products", "featured"]);
        await cache.SetAsync("u1", 3, tags: ["users"]);

        Assert.Equal(2, await cache.InvalidateByTagAsync("products"));
        Assert.Equal(0, await cache.InvalidateByTagAsync("products"));
        Assert.Equal(["u1"], cache.Keys());
    }

    [Fact]
    public async Task InvalidateByTags_counts_an_entry_with_several_of_the_tags_once()
    {
        using var cache = new MemoCache();
        await cache.SetAsync("both", 1, tags: ["a", "b"]);
        await cache.SetAsync("a-only", 2, tags: ["a"]);
        await cache.SetAsync("neither", 3, tags: ["c"]);

        Assert.Equal(2, await cache.InvalidateByTagsAsync(["a", "b", "unknown"]));
        Assert.Equal(["neither"], cache.Keys());
    }

    [Fact]
    public async Task InvalidateByPattern_supports_stars_question_marks_and_character_classes()
    {
        using var cache = new MemoCache();
        foreach (var key in new[] { "user:1", "user:2", "user:10", "user:a", "order:1" })
        {
            await cache.SetAsync(key, key);
        }

        Assert.Equal(1, await cache.InvalidateByPatternAsync("user:[!0-9]"));
        Assert.Equal(2, await cache.InvalidateByPatternAsync("user:?"));
        Assert.Equal(1, await cache.InvalidateByPatternAsync("user:1*"));
        Assert.Equal(["order:1"], cache.Keys());
    }

    [Theory]
    [InlineData("user:[abc")]
    [InlineData("user:\\")]
    [InlineData("[z-a]")]
    public async Task A_malformed_pattern_gets_an_ArgumentException_that_says_what_is_wrong(string pattern)
    {
        using var cache = new MemoCache();

        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await cache.InvalidateByPatternAsync(pattern));

        Assert.Equal("globPattern", error.ParamName);
        Assert.Contains("malformed", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => cache.Keys(pattern));
    }

    [Fact]
    public async Task Invalidate_removes_one_key_and_raises_Invalidated()
    {
        using var cache = new MemoCache();
        var seen = new List<IReadOnlyList<string>>();
        cache.Invalidated += (_, e) => seen.Add(e.Keys);
        await cache.SetAsync("k", 1);

        Assert.True(await cache.InvalidateAsync("k"));
        Assert.False(await cache.InvalidateAsync("k"));
        Assert.Equal(["k"], Assert.Single(seen));
    }
}
