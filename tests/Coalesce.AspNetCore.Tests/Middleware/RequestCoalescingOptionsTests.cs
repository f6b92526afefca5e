using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>Options out of range stop the app at start-up, naming the option and its range.</summary>
public sealed class RequestCoalescingOptionsTests
{
    public static TheoryData<string, Action<RequestCoalescingOptions>> InvalidOptions => new()
    {
        { "MaxBufferedBodyBytes", o => o.MaxBufferedBodyBytes = -1 },
        { "WaitTimeout", o => o.WaitTimeout = TimeSpan.Zero },
        { "PassThroughDuration", o => o.PassThroughDuration = TimeSpan.FromSeconds(-1) },
        { "MemoMaxEntries", o => o.MemoMaxEntries = 0 },
        { "MemoMaxBytes", o => o.MemoMaxBytes = 1023 },
        { "MemoMaxBytes", o => o.MemoMaxBytes = (1L << 40) + 1 },
        { "MemoMaxEntryBytes", o => o.MemoMaxEntryBytes = 1023 },
        { "MemoMaxEntryBytes", o => o.MemoMaxBytes = 1 << 20 }, // below the default per-entry limit
        { "VaryByHeaders", o => o.VaryByHeaders.Add("") },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public async Task Invalid_options_fail_start_up_with_a_message_naming_the_option(string option, Action<RequestCoalescingOptions> configure)
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestApp.StartAsync(a => a.MapGet("/", () => "never"), configure));

        var failure = Assert.Single(ex.Failures);
        Assert.Contains(option, failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Memo_byte_bounds_fail_start_up_with_their_ranges()
    {
        var tooSmall = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestApp.StartAsync(a => a.MapGet("/", () => "never"), o => o.MemoMaxBytes = 0));
        var aboveTheWhole = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestApp.StartAsync(a => a.MapGet("/", () => "never"), o => (o.MemoMaxBytes, o.MemoMaxEntryBytes) = (10_000, 10_001)));

        Assert.Equal(
            "MemoMaxBytes: The field RequestCoalescingOptions.MemoMaxBytes must be between 1024 and 1099511627776.",
            Assert.Single(tooSmall.Failures));
        Assert.Equal(
            "MemoMaxEntryBytes is 10001; it must be between 1024 bytes (1 KiB) and MemoMaxBytes (10000 bytes).",
            Assert.Single(aboveTheWhole.Failures));
    }
}
