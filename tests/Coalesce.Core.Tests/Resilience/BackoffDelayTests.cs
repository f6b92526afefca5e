using Coalesce.Resilience;
using Polly;
using Polly.Retry;

namespace Coalesce.Tests.Resilience;

public class BackoffDelayTests
{
    [Fact]
    public void Delays_without_jitter_follow_min_delay_times_factor_to_the_attempt_capped_at_max_delay()
    {
        var backoff = new BackoffDelay(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), 1.5, useJitter: false);

        var delays = Enumerable.Range(0, 8).Select(backoff.Compute).ToArray();

        TimeSpan[] expected =
        [
            TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(150), TimeSpan.FromMilliseconds(225),
            TimeSpan.FromMilliseconds(337.5), TimeSpan.FromMilliseconds(506.25), TimeSpan.FromMilliseconds(759.375),
            TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1),
        ];
        Assert.Equal(expected, delays);
    }

    [Fact]
    public void A_huge_attempt_number_saturates_at_max_delay_instead_of_overflowing()
    {
        var backoff = new BackoffDelay(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(30), 100, useJitter: false);

        Assert.Equal(TimeSpan.FromSeconds(30), backoff.Compute(int.MaxValue));
    }

    [Theory]
    [InlineData(0.0, 500)]
    [InlineData(0.5, 750)]
    [InlineData(0.999999, 999.9995)]
    public void Jitter_maps_the_random_draw_onto_half_to_all_of_the_delay(double draw, double expectedMs)
    {
        var backoff = new BackoffDelay(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 2, useJitter: true, random: () => draw);

        Assert.Equal(expectedMs, backoff.Compute(0).TotalMilliseconds, precision: 3);
    }

    [Fact]
    public void Jittered_delays_stay_within_half_and_all_of_the_formula_and_actually_vary()
    {
        var plain = new BackoffDelay(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2), 1.5, useJitter: false);
        var jittered = new BackoffDelay(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2), 1.5, useJitter: true);

        for (var attempt = 0; attempt < 12; attempt++)
        {
            var bound = plain.Compute(attempt);
            var samples = Enumerable.Range(0, 200).Select(_ => jittered.Compute(attempt)).ToArray();
            Assert.All(samples, delay => Assert.InRange(delay, bound / 2, bound));
            Assert.True(samples.Distinct().Count() > 1, $"attempt {attempt}: jitter produced a single value");
        }
    }

    [Fact]
    public async Task Works_as_a_polly_delay_generator_for_a_generic_retry()
    {
        var time = new Coalesce.Testing.ManualTimeProvider();
        var backoff = new BackoffDelay(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 3, useJitter: false);
        var pipeline = new ResiliencePipelineBuilder<int> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<int>
            {
                MaxRetryAttempts = 2,
                UseJitter = false,
                DelayGenerator = backoff.Generate,
                ShouldHandle = args => new(args.Outcome.Result < 0),
            })
            .Build();
        var calls = 0;

        var run = pipeline.ExecuteAsync(_ => new ValueTask<int>(++calls == 3 ? 7 : -1)).AsTask();
        await time.WaitForTimersAsync(1);
        time.Advance(TimeSpan.FromSeconds(1));
        await time.WaitForTimersAsync(1);
        time.Advance(TimeSpan.FromSeconds(3) - TimeSpan.FromTicks(1));
        Assert.Equal(2, calls);
        time.Advance(TimeSpan.FromTicks(1));

        Assert.Equal(7, await run);
        Assert.Equal(3, calls);
    }
}
