using System.Diagnostics;
using Coalesce.AspNetCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Coalesce.L2Load;

/// <summary>
/// One app instance's second level on a topology, as the app has it: a host with
/// <c>AddStackExchangeRedisCoalescing</c>, its <see cref="ISecondLevelStore"/> and <see cref="IDistributedInvalidation"/>.
/// Workers read existing keys and write them the way a leader does (read the seq, then store with it).
/// </summary>
internal sealed class L2Workload : IAsyncDisposable
{
    private static readonly TimeSpan TimeToLive = TimeSpan.FromMinutes(30);
    private static readonly string[] NoTags = [];

    private readonly IHost _host;
    private readonly L2LoadSettings _settings;
    private readonly byte[] _value;
    private readonly string[] _keys;

    private L2Workload(IHost host, L2LoadSettings settings)
    {
        _host = host;
        _settings = settings;
        _value = new byte[settings.MaxBytes];
        new Random(7).NextBytes(_value);
        _keys = [.. Enumerable.Range(0, settings.Keys).Select(static i => $"GET /items/{i}")];
    }

    private ISecondLevelStore Store => _host.Services.GetRequiredService<ISecondLevelStore>();

    private IDistributedInvalidation Invalidation => _host.Services.GetRequiredService<IDistributedInvalidation>();

    public static async Task<L2Workload> StartAsync(string configuration, L2LoadSettings settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddStackExchangeRedisCoalescing(o =>
        {
            o.Configuration = configuration;
            o.KeyPrefix = "l2load";
            // Throughput, not the 50 ms budget: with both cores saturated a call may queue past 50 ms and would turn
            // into a miss. Misses and failures are counted apart and not as operations.
            o.ReadBudget = TimeSpan.FromSeconds(2);
        });
        var host = builder.Build();
        var workload = new L2Workload(host, settings);
        try
        {
            await host.StartAsync();
            var clock = Stopwatch.StartNew();
            while (!workload.Invalidation.IsSynchronized)
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(30))
                {
                    throw new InvalidOperationException($"The instance did not synchronize with Redis at {configuration} within 30 s.");
                }

                await Task.Delay(50);
            }

            return workload;
        }
        catch
        {
            await workload.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stores every key once (so every get of the rounds finds its value); throws if one is not stored.</summary>
    public async Task FillAsync(CancellationToken cancellationToken)
    {
        var next = -1;
        var failed = 0;
        await Task.WhenAll(Enumerable.Range(0, _settings.Workers).Select(_ => Task.Run(
            async () =>
            {
                int key;
                while ((key = Interlocked.Increment(ref next)) < _keys.Length)
                {
                    if (!await SetAsync(key, cancellationToken))
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
            },
            cancellationToken)));
        if (failed > 0)
        {
            throw new InvalidOperationException($"{failed} of {_keys.Length} keys were not stored while filling.");
        }
    }

    /// <summary>Runs the workers for one round; the counts are the sums over workers.</summary>
    public async Task<(TimeSpan Elapsed, long Gets, long Hits, long Sets, long Stored)> RunAsync(CancellationToken cancellationToken)
    {
        long gets = 0, hits = 0, sets = 0, stored = 0;
        var clock = Stopwatch.StartNew();
        var length = _settings.RoundLength;
        await Task.WhenAll(Enumerable.Range(0, _settings.Workers).Select(worker => Task.Run(
            async () =>
            {
                var random = new Random(worker);
                long g = 0, h = 0, s = 0, st = 0;
                while (clock.Elapsed < length && !cancellationToken.IsCancellationRequested)
                {
                    var key = random.Next(_keys.Length);
                    if (random.Next(100) < _settings.SetPercent)
                    {
                        s++;
                        st += await SetAsync(key, cancellationToken) ? 1 : 0;
                    }
                    else
                    {
                        g++;
                        var hit = await Store.TryGetAsync(_keys[key], NoTags, cancellationToken);
                        if (hit is { } entry)
                        {
                            if (entry.Payload.Length != _settings.ValueBytes(key))
                            {
                                throw new InvalidOperationException($"Key {key} came back with {entry.Payload.Length} bytes, not {_settings.ValueBytes(key)}.");
                            }

                            h++;
                        }
                    }
                }

                Interlocked.Add(ref gets, g);
                Interlocked.Add(ref hits, h);
                Interlocked.Add(ref sets, s);
                Interlocked.Add(ref stored, st);
            },
            cancellationToken)));
        return (clock.Elapsed, gets, hits, sets, stored);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _host.StopAsync(TimeSpan.FromSeconds(5));
        }
        finally
        {
            _host.Dispose();
        }
    }

    private async Task<bool> SetAsync(int key, CancellationToken cancellationToken)
    {
        if (await Invalidation.ReadSeqAsync(cancellationToken) is not { } seq)
        {
            return false;
        }

        var value = _value.AsMemory(0, _settings.ValueBytes(key));
        return await Store.TrySetAsync(_keys[key], value, TimeToLive, NoTags, seq, cancellationToken) == SecondLevelWriteResult.Stored;
    }
}
