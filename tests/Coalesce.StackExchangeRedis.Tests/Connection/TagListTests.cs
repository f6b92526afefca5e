using Coalesce.AspNetCore;

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

public sealed class InvalidationWireTests
{
    [Fact]
    public void Items_of_every_kind_round_trip_with_any_characters()
    {
        InvalidationItem[] items =
        [
            InvalidationItem.Tag("a b:c"), InvalidationItem.Key("GET\nkey with spaces"), InvalidationItem.Pattern("*/products/[0-9]*"),
            InvalidationItem.All, InvalidationItem.Tag(string.Empty), InvalidationItem.Key("a"),
        ];

        var encoded = TagList.Encode(TagList.Canonical(items.Select(InvalidationWire.Encode)));

        Assert.True(TagList.TryDecode(encoded, out var list));
        var decoded = InvalidationWire.TryDecodeAll(list);
        Assert.NotNull(decoded);
        Assert.Equal(items.OrderBy(i => i.ToString(), StringComparer.Ordinal), decoded.OrderBy(i => i.ToString(), StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("")]
    [InlineData("xsomething")]
    [InlineData("aextra")]
    public void Unknown_kinds_are_not_read(string encoded) => Assert.Null(InvalidationWire.TryDecodeAll([encoded]));

    [Fact]
    public void Descriptions_name_tags_but_never_keys_or_patterns() =>
        Assert.Equal("products, (a key), (a pattern), (everything)", InvalidationWire.Describe(["tproducts", "ksecret-user-42", "p*secret*", "a"]));
}
