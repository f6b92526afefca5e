using System.Net;
using Coalesce.Resilience;
using Coalesce.Testing;
using Polly;
using Polly.Retry;

namespace Coalesce.Tests.Resilience;

/// <summary>The internal pieces composed the way the outbound HttpClient handler will use them.</summary>
public class BuildingBlocksTests
{
    [Fact]
    public async Task Rate_limit_retry_with_backoff_and_base_address_fallback_compose_on_a_generic_pipeline()
    {
        var time = new ManualTimeProvider();
        using var limiter = new WindowRateLimiter(10, 100, time);
        var backoff = new BackoffDelay(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 2, useJitter: false);
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time }
            .AddCoalesceRateLimiter(limiter, "weather", component: "http_client")
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = 1,
                UseJitter = false,
                DelayGenerator = backoff.Generate,
                ShouldHandle = args => new(args.Outcome.Exception is HttpRequestException),
            })
            .Build();
        Uri[] baseAddresses = [new("https://east.example"), new("https://west.example")];
        var errors = new List<Exception>();
        var tried = new CallRecorder<string>();

        var call = pipeline.ExecuteAsync(ct => FallbackExecutor.ExecuteAsync<Uri, HttpResponseMessage>(
            baseAddresses,
            (baseAddress, _) =>
            {
                tried.Record(baseAddress.Host);
                return tried.Count < 4
                    ? throw new HttpRequestException($"{baseAddress.Host} unreachable")
                    : new(new HttpResponseMessage(HttpStatusCode.OK));
            },
            errors,
            ex => ex is HttpRequestException,
            onFallback: null,
            ct), CancellationToken.None).AsTask();

        await tried.WaitForAsync(2);
        await time.WaitForTimersAsync(1);
        time.Advance(TimeSpan.FromSeconds(1));
        using var response = await call;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["east.example", "west.example", "east.example", "west.example"], tried.Calls);
        Assert.Equal(3, errors.Count);
        var allFailed = new AllAttemptsFailedException(errors);
        Assert.StartsWith("All 3 attempts failed: [1] HttpRequestException: east.example unreachable", allFailed.Message, StringComparison.Ordinal);
    }
}
