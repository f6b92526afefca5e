namespace Coalesce.Tests.Resilience;

/// <summary>Resilience options out of range are rejected naming the option and its range; the defaults are as documented.</summary>
public class ResilienceOptionsTests
{
    public static TheoryData<string, Action<ResilienceOptions>, string> InvalidOptions => new()
    {
        { "Retries", o => o.Retries = -1, "0 or more" },
        { "BackoffFactor", o => o.BackoffFactor = 0.5, "between 1 and 100" },
        { "BackoffFactor", o => o.BackoffFactor = double.NaN, "between 1 and 100" },
        { "MinDelay", o => o.MinDelay = TimeSpan.FromMilliseconds(-1), "between 0 and 1 day" },
        { "MaxDelay", o => o.MaxDelay = TimeSpan.FromMilliseconds(50), "between MinDelay" },
        { "AttemptTimeout", o => o.AttemptTimeout = TimeSpan.FromMilliseconds(1), "between 10 ms and 1 day" },
        { "RateLimit", o => o.RateLimit = 0, "greater than 0" },
        { "RateLimit", o => o.RateLimit = -3, "greater than 0" },
        { "RateLimitScope", o => o.RateLimitScope = (RateLimitScope)42, "PerFunction, Global or PerArgument" },
        { "RateLimitQueueLimit", o => o.RateLimitQueueLimit = -1, "0 or more" },
        { "CacheTtl", o => o.CacheTtl = TimeSpan.Zero, "greater than 0" },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Out_of_range_options_are_rejected_naming_the_option_and_the_allowed_range(string option, Action<ResilienceOptions> breakIt, string range)
    {
        var options = new ResilienceOptions();
        breakIt(options);

        var error = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);

        Assert.Equal(option, error.ParamName);
        Assert.Contains($"ResilienceOptions.{option}", error.Message, StringComparison.Ordinal);
        Assert.Contains(range, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrapping_validates_the_options()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Resilient.Wrap<int>(_ => Task.FromResult(1), new ResilienceOptions { Retries = -2 }));

        Assert.Equal("Retries", error.ParamName);
    }

    [Fact]
    public void The_global_scope_requires_a_rate_limit_name()
    {
        var options = new ResilienceOptions { RateLimit = 5, RateLimitScope = RateLimitScope.Global };

        var error = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Equal("RateLimitName", error.ParamName);
    }

    [Fact]
    public void The_global_scope_requires_a_registry_that_owns_the_shared_limits()
    {
        var options = new ResilienceOptions { RateLimit = 5, RateLimitScope = RateLimitScope.Global, RateLimitName = "api" };

        var error = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Equal("RateLimitRegistry", error.ParamName);
        Assert.Contains("one per app", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_defaults_match_the_documentation()
    {
        var options = new ResilienceOptions();

        options.Validate();
        Assert.Equal(3, options.Retries);
        Assert.Equal(1.5, options.BackoffFactor);
        Assert.Equal(TimeSpan.FromMilliseconds(100), options.MinDelay);
        Assert.Equal(TimeSpan.FromSeconds(30), options.MaxDelay);
        Assert.True(options.UseJitter);
        Assert.Null(options.RateLimit);
        Assert.Equal(RateLimitScope.PerFunction, options.RateLimitScope);
        Assert.Equal(1000, options.RateLimitQueueLimit);
        Assert.Equal("coalesce", options.CacheNamespace);
        Assert.Same(TimeProvider.System, options.TimeProvider);
    }
}
