using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.RateLimiting;
using Polly.Retry;

namespace Coalesce.Resilience;

/// <summary>
/// The engine behind one <see cref="Resilient"/> wrapper: single-flight → memoization → rate limit →
/// retry → fallback values in order → per-attempt timeout → the function. Built once per wrapper from a
/// snapshot of the options; thread-safe.
/// </summary>
internal sealed class ResilientCall<T>
{
    private static readonly ResiliencePropertyKey<string?> ArgumentKey = new("coalesce.argument-key");

    private readonly ResilienceOptions _options;
    private readonly System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>? _cacheTypeInfo;
    private readonly ILogger _logger;
    private readonly ResilienceMetrics? _metrics;
    private readonly ResiliencePipeline _pipeline;
    private readonly ResiliencePipeline? _attemptTimeout;

    public ResilientCall(ResilienceOptions options, string name, bool hasArguments)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(name);
        options.Validate();
        if (!hasArguments && options.RateLimit is not null && options.RateLimitScope == RateLimitScope.PerArgument)
        {
            throw new ArgumentException(
                "ResilienceOptions.RateLimitScope is PerArgument, but the wrapped function takes no arguments: use PerFunction or Global.",
                nameof(options));
        }

        _options = options.Clone();
        _cacheTypeInfo = _options.CacheTypeInfo switch
        {
            null => null,
            System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typed => typed,
            var other => throw new ArgumentException(
                $"ResilienceOptions.CacheTypeInfo describes '{other.Type.FullName}', but the function returns '{typeof(T).FullName}'.", nameof(options)),
        };
        Name = _options.Name ?? name;
        _logger = _options.Logger ?? NullLogger.Instance;
        _metrics = _options.MeterFactory is { } meterFactory ? new ResilienceMetrics(meterFactory.Create(new System.Diagnostics.Metrics.MeterOptions(Diagnostics.CoalesceMeter.Name))) : null;

        // Non-generic on purpose: the generic AddRetry<T> would force trimming annotations onto every T.
        var builder = new ResiliencePipelineBuilder { Name = Name, TimeProvider = _options.TimeProvider };
        if (_options.RateLimit is not null)
        {
            var limiters = RateLimiters.Create(_options);
            builder.AddCoalesceRateLimiter(context => limiters.For(context.Properties.GetValue(ArgumentKey, null)), Name, _logger, _metrics);
        }

        if (_options.Retries > 0)
        {
            builder.AddRetry(RetryOptions());
        }

        _pipeline = builder.Build();
        if (_options.AttemptTimeout is { } timeout)
        {
            _attemptTimeout = new ResiliencePipelineBuilder { Name = Name, TimeProvider = _options.TimeProvider }.AddTimeout(timeout).Build();
        }
    }

    public string Name { get; }

    /// <summary>Whether calls need an argument key: for single-flight, memoization or a per-argument rate limit.</summary>
    public bool NeedsKey =>
        _options.SingleFlight is not null || _options.Cache is not null ||
        (_options.RateLimit is not null && _options.RateLimitScope == RateLimitScope.PerArgument);

    /// <summary>Runs one call. <paramref name="key"/> identifies its arguments (null for none).</summary>
    public Task<T> ExecuteAsync<TValue>(
        string? key, IReadOnlyList<TValue> values, Func<TValue, CancellationToken, Task<T>> invoke, CancellationToken cancellationToken)
    {
        if (_options.SingleFlight is { } shared)
        {
            return shared.CallAsync(key is null ? Name : $"{Name}|{key}", ct => MemoizedAsync(key, values, invoke, ct), cancellationToken);
        }

        return MemoizedAsync(key, values, invoke, cancellationToken);
    }

    private Task<T> MemoizedAsync<TValue>(
        string? key, IReadOnlyList<TValue> values, Func<TValue, CancellationToken, Task<T>> invoke, CancellationToken cancellationToken)
    {
        if (_options.Cache is { } cache)
        {
            var cacheKey = key is null ? $"{_options.CacheNamespace}:{Name}" : $"{_options.CacheNamespace}:{Name}|{key}";
            return _cacheTypeInfo is null
                ? cache.GetOrFetchAsync(cacheKey, ct => RunAsync(key, values, invoke, ct), _options.CacheTtl, tags: null, cancellationToken).AsTask()
                : cache.GetOrFetchAsync(
                    cacheKey, ct => RunAsync(key, values, invoke, ct), _cacheTypeInfo, new CacheEntryOptions { Ttl = _options.CacheTtl }, cancellationToken).AsTask();
        }

        return RunAsync(key, values, invoke, cancellationToken);
    }

    private async Task<T> RunAsync<TValue>(
        string? key, IReadOnlyList<TValue> values, Func<TValue, CancellationToken, Task<T>> invoke, CancellationToken cancellationToken)
    {
        var errors = new List<Exception>();
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(ArgumentKey, key);
        try
        {
            return await _pipeline.ExecuteAsync(
                ctx => FallbackExecutor.ExecuteAsync(
                    values,
                    (value, ct) => InvokeOnceAsync(invoke, value, ct),
                    errors,
                    ex => IsRetryable(ex, ctx.CancellationToken),
                    values.Count > 1 ? (index, ex) => OnFallback(index, values.Count, ex) : null,
                    ctx.CancellationToken),
                context).ConfigureAwait(false);
        }
        catch (RateLimiterRejectedException rejected)
        {
            throw rejected.ToCoalesce(Name);
        }
        catch (Exception ex) when (errors.Count > 0 && IsRetryable(ex, cancellationToken))
        {
            throw FallbackExecutor.AllFailed(errors, ex, Name, _metrics, ResilienceMetrics.Resilient, _logger);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private ValueTask<T> InvokeOnceAsync<TValue>(Func<TValue, CancellationToken, Task<T>> invoke, TValue value, CancellationToken cancellationToken)
    {
        if (_attemptTimeout is null)
        {
            return new(invoke(value, cancellationToken));
        }

        return _attemptTimeout.ExecuteAsync(
            static async (state, ct) => await state.invoke(state.value, ct).ConfigureAwait(false),
            (invoke, value),
            cancellationToken);
    }

    private bool IsRetryable(Exception exception, CancellationToken callerToken) =>
        !(exception is OperationCanceledException && callerToken.IsCancellationRequested) && _options.ShouldRetry(exception);

    private void OnFallback(int index, int count, Exception error)
    {
        _metrics?.Fallback(ResilienceMetrics.Resilient, Name);
        ResilienceLog.FallingBack(_logger, Name, index + 1, count, error);
    }

    private RetryStrategyOptions RetryOptions()
    {
        var backoff = BackoffDelay.From(_options);
        return new RetryStrategyOptions
        {
            MaxRetryAttempts = _options.Retries,
            BackoffType = DelayBackoffType.Constant,
            Delay = _options.MinDelay,
            MaxDelay = null,
            UseJitter = false,
            DelayGenerator = backoff.Generate,
            ShouldHandle = args => new(args.Outcome.Exception is { } ex && IsRetryable(ex, args.Context.CancellationToken)),
            OnRetry = args =>
            {
                _metrics?.Retry(ResilienceMetrics.Resilient, Name);
                ResilienceLog.Retrying(_logger, Name, args.AttemptNumber + 1, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception);
                return default;
            },
        };
    }
}
