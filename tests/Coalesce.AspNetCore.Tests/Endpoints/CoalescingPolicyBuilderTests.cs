namespace Coalesce.AspNetCore.Tests.Endpoints;

/// <summary>The policy builder refuses bad arguments at once, naming the parameter.</summary>
public sealed class CoalescingPolicyBuilderTests
{
    [Fact]
    public void Policy_builder_rejects_bad_arguments_naming_the_parameter()
    {
        var policy = new CoalescingPolicyBuilder();

        Assert.Equal("ttl", Assert.Throws<ArgumentOutOfRangeException>(() => policy.Memoize(TimeSpan.Zero)).ParamName);
        Assert.Equal("timeout", Assert.Throws<ArgumentOutOfRangeException>(() => policy.WaitTimeout(TimeSpan.FromSeconds(-1))).ParamName);
        var malformed = Assert.Throws<ArgumentException>(() => policy.Tag("product:{id"));
        Assert.Equal("tags", malformed.ParamName);
        Assert.Contains("product:{id", malformed.Message, StringComparison.Ordinal);
        Assert.Equal("queryKeys", Assert.Throws<ArgumentNullException>(() => policy.VaryByQuery(null!)).ParamName);
        Assert.Equal("headerNames", Assert.ThrowsAny<ArgumentException>(() => policy.VaryByHeader("")).ParamName);
    }
}
