using Coalesce.AspNetCore;

namespace Coalesce.StackExchangeRedis.Tests;

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
