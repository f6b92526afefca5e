using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// The app's one Redis connection: a shared multiplexer (connected in the background with <c>abortConnect=false</c>,
/// so the app starts without Redis), a <see cref="CircuitBreaker"/>, and <see cref="ExecuteAsync"/>, through which
/// every Redis call runs with its own time budget and which turns every failure into "no answer".
/// </summary>
internal sealed class RedisConnection : IAsyncDisposable
{
    private readonly RedisCoalescingOptions _options;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RedisCounters _counters;
    private readonly object _gate = new();
    private Task? _connecting;
    private volatile IConnectionMultiplexer? _multiplexer;
    private bool _ownsMultiplexer;
    private bool _disposed;
    private long _unreachableSinceTicks;
    private volatile bool _cluster;

    public RedisConnection(
        IOptions<RedisCoalescingOptions> options, IServiceProvider services, TimeProvider time,
        ILogger<RedisConnection> logger, RedisCounters counters)
    {
        _options = options.Value;
        _services = services;
        _time = time;
        _logger = logger;
        _counters = counters;
        // Not reached yet: until the first PING answers, Redis counts as unreachable since the instance started.
        _unreachableSinceTicks = time.GetUtcNow().UtcTicks;
        Keys = new RedisKeys(_options.KeyPrefix);
        Breaker = new CircuitBreaker(_options.BreakerFailureThreshold, _options.BreakerProbeInterval, time, ProbeAsync);
        Breaker.Opened += reason => RedisLog.BreakerOpened(_logger, reason, _options.BreakerProbeInterval);
        Breaker.Closed += openFor => RedisLog.BreakerClosed(_logger, openFor);
    }

    /// <summary>This instance's id: its own messages carry it, so it can ignore them.</summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString("N");

    public RedisKeys Keys { get; }

    public CircuitBreaker Breaker { get; }

    public RedisCoalescingOptions Options => _options;

    /// <summary>Whether the multiplexer has a live connection (whatever the breaker says).</summary>
    public bool IsConnected => _multiplexer?.IsConnected == true;

    /// <summary>
    /// Since when Redis has not answered this instance (from its start until the first answer; from a failed
    /// connection, the call that opened the breaker or a failed probe until the next answer); <see langword="null"/>
    /// while it answers.
    /// </summary>
    public DateTimeOffset? UnreachableSince
    {
        get
        {
            var ticks = Volatile.Read(ref _unreachableSinceTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>
    /// Whether Redis is a Redis Cluster (known once a probe answered, before anything else uses Redis): a request key's
    /// keys then sit in their own slot, apart from the shared state, and no script touches both.
    /// </summary>
    public bool IsCluster => _cluster;

    /// <summary>Whether Redis may be used now: connected, caught up and the breaker closed.</summary>
    public bool IsAvailable => !Breaker.IsOpen && _multiplexer is not null;

    /// <summary>The multiplexer, once created (it may still be disconnected).</summary>
    public IConnectionMultiplexer? Multiplexer => _multiplexer;

    /// <summary>
    /// Called by the breaker's probe after PING answered: subscribe and catch up. The breaker closes only when it
    /// returns <see langword="true"/>, so nothing reads the second level before this instance is caught up.
    /// </summary>
    public Func<IConnectionMultiplexer, CancellationToken, Task<bool>>? Synchronizer { get; set; }

    /// <summary>Starts connecting in the background; returns at once. Safe to call more than once.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_disposed || _multiplexer is not null || _connecting is { IsCompleted: false })
            {
                return;
            }

            _connecting = Task.Run(ConnectAsync);
        }
    }

    /// <summary>
    /// Runs one Redis call within <paramref name="budget"/>. Returns no value, without calling Redis, while the
    /// breaker is open (unless <paramref name="whileOpen"/>); a failure or a timeout is logged, counted towards the
    /// breaker, and returned as no value. Only the caller's own cancellation throws.
    /// </summary>
    public async ValueTask<Attempt<T>> ExecuteAsync<T>(
        string operation, TimeSpan budget, Func<IDatabase, Task<T>> call, CancellationToken cancellationToken, bool whileOpen = false)
    {
        var multiplexer = _multiplexer;
        if (multiplexer is null)
        {
            Start();
            return default;
        }

        if (!whileOpen && Breaker.IsOpen)
        {
            return default;
        }

        Task<T>? task = null;
        try
        {
            task = call(multiplexer.GetDatabase());
            var value = await task.WaitAsync(budget, _time, cancellationToken).ConfigureAwait(false);
            Breaker.RecordSuccess();
            Reached();
            return new Attempt<T>(true, value);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Observe(task);
            throw;
        }
        catch (TimeoutException ex) when (ex is not RedisTimeoutException)
        {
            Observe(task);
            _counters.Error();
            RedisLog.CallTimedOut(_logger, operation, budget);
            Fail(operation, whileOpen);
            return default;
        }
#pragma warning disable CA1031 // No caller ever fails because of Redis: every Redis (or client) exception becomes "no answer".
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _counters.Error();
            RedisLog.CallFailed(_logger, ex, operation);
            Fail(operation, whileOpen);
            return default;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task? connecting;
        lock (_gate)
        {
            _disposed = true;
            connecting = _connecting;
        }

        Breaker.Dispose();
        if (connecting is not null)
        {
            await connecting.ConfigureAwait(false);
        }

        if (_multiplexer is { } multiplexer)
        {
            multiplexer.ConnectionFailed -= OnConnectionFailed;
            multiplexer.ConnectionRestored -= OnConnectionRestored;
            if (_ownsMultiplexer)
            {
                await multiplexer.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static void Observe(Task? abandoned) =>
        abandoned?.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private void Fail(string operation, bool whileOpen)
    {
        if (!whileOpen)
        {
            Breaker.RecordFailure($"{_options.BreakerFailureThreshold} failures in a row, the last in {operation}");
            if (Breaker.IsOpen)
            {
                Unreachable();
            }
        }
    }

    /// <summary>
    /// A cluster keeps each request key's keys in their own slot, and invalidations then go over sharded pub/sub when
    /// every node has it (Redis 7): only the shard owning the shared slot carries them, rather than every node.
    /// </summary>
    private void DetectTopology(IConnectionMultiplexer multiplexer)
    {
        var servers = multiplexer.GetServers();
        var cluster = servers.Any(static s => s.ServerType == ServerType.Cluster);
        _cluster = cluster;
        Keys.Sharded = cluster && servers.All(static s => s.Version >= ShardedPubSubVersion);
    }

    private static readonly Version ShardedPubSubVersion = new(7, 0);

    /// <summary>Redis answered: it is reachable (a cheap read when it already was).</summary>
    private void Reached()
    {
        if (Volatile.Read(ref _unreachableSinceTicks) != 0)
        {
            Volatile.Write(ref _unreachableSinceTicks, 0);
        }
    }

    /// <summary>Redis stopped answering: keeps the first moment of an outage, not the latest failure.</summary>
    private void Unreachable() => Interlocked.CompareExchange(ref _unreachableSinceTicks, _time.GetUtcNow().UtcTicks, 0);

    private async Task ConnectAsync()
    {
        try
        {
            IConnectionMultiplexer multiplexer;
            bool owns;
            if (_options.ConnectionMultiplexerFactory is { } factory)
            {
                multiplexer = factory(_services);
                owns = false;
            }
            else
            {
                var configuration = _options.ConfigurationOptions?.Clone() ?? ConfigurationOptions.Parse(_options.Configuration!);
                configuration.AbortOnConnectFail = false;
                multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
                owns = true;
            }

            multiplexer.ConnectionFailed += OnConnectionFailed;
            multiplexer.ConnectionRestored += OnConnectionRestored;
            lock (_gate)
            {
                _ownsMultiplexer = owns;
                _multiplexer = multiplexer;
                if (_disposed)
                {
                    return; // DisposeAsync waits for this task, then closes what it finds.
                }
            }

            Breaker.ProbeSoon();
        }
#pragma warning disable CA1031 // A failed connect leaves the app in-process; the next call starts another attempt.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _counters.Error();
            RedisLog.ConnectFailed(_logger, ex);
        }
    }

    private async Task<bool> ProbeAsync(CancellationToken cancellationToken)
    {
        var multiplexer = _multiplexer;
        if (multiplexer is null)
        {
            Start();
            return false;
        }

        try
        {
            await multiplexer.GetDatabase().PingAsync().WaitAsync(_options.InvalidationBudget, _time, cancellationToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A failed probe keeps the breaker open; that is its whole meaning.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Unreachable();
            RedisLog.ProbeFailed(_logger, ex);
            return false;
        }

        Reached();
        DetectTopology(multiplexer);

        try
        {
            return Synchronizer is not { } synchronize || await synchronize(multiplexer, cancellationToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Resubscribing or catching up failed: the breaker stays open and the next probe tries again.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            RedisLog.ProbeFailed(_logger, ex);
            return false;
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        RedisLog.ConnectionFailed(_logger, e.Exception, e.ConnectionType.ToString(), e.EndPoint?.ToString(), e.FailureType.ToString());
        Unreachable();
        Breaker.Open($"the {e.ConnectionType} connection failed: {e.FailureType}");
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => Breaker.ProbeSoon();
}

/// <summary>The outcome of one Redis call: <see cref="Succeeded"/> is <see langword="false"/> when Redis gave no answer.</summary>
internal readonly record struct Attempt<T>(bool Succeeded, T? Value);
