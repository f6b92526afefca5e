namespace Coalesce.Tests.Caching;

public sealed class GlobPatternTests
{
    [Theory]
    [InlineData("*", "", true)]
    [InlineData("*", "anything", true)]
    [InlineData("user:*", "user:", true)]
    [InlineData("user:*", "users:1", false)]
    [InlineData("*:1", "user:1", true)]
    [InlineData("*:1", "user:10", false)]
    [InlineData("a*b*c", "aXbYbZc", true)]
    [InlineData("a*b*c", "aXbYbZ", false)]
    [InlineData("?", "x", true)]
    [InlineData("?", "", false)]
    [InlineData("[abc]1", "b1", true)]
    [InlineData("[a-c]1", "d1", false)]
    [InlineData("[!a-c]1", "d1", true)]
    [InlineData("[^a-c]1", "a1", false)]
    [InlineData("[]]", "]", true)]
    [InlineData("\\*", "*", true)]
    [InlineData("\\*", "x", false)]
    [InlineData("a[-]b", "a-b", true)]
    [InlineData("User", "user", false)]
    public void Matches_the_whole_key_ordinally(string pattern, string key, bool expected) =>
        Assert.Equal(expected, GlobPattern.Parse(pattern, "pattern").IsMatch(key));

    [Fact]
    public void Many_stars_on_a_long_key_match_in_linear_time()
    {
        var key = new string('a', 10_000);
        Assert.False(GlobPattern.Parse("*a*a*a*a*a*b", "pattern").IsMatch(key));
    }
}
