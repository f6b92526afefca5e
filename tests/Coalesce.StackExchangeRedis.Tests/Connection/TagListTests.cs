namespace Coalesce.StackExchangeRedis.Tests;

public sealed class TagListTests
{
    [Fact]
    public void Tags_with_any_characters_round_trip_and_equal_sets_encode_the_same()
    {
        string[] tags = ["b c", "a:1", "new\nline", "", "ü", "a:1"];

        var canonical = TagList.Canonical(tags);
        var encoded = TagList.Encode(canonical);

        Assert.True(TagList.TryDecode(encoded, out var decoded));
        Assert.Equal(canonical, decoded);
        Assert.Equal(5, canonical.Length);
        Assert.Equal(encoded, TagList.Encode(TagList.Canonical(tags.Reverse())));
    }

    [Theory]
    [InlineData("3:ab")]
    [InlineData("x:abc")]
    [InlineData(":abc")]
    public void Malformed_lists_are_rejected(string encoded) => Assert.False(TagList.TryDecode(encoded, out _));
}
