using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore;

/// <summary>
/// The engines of every coalescing HttpClient, one per client name, built on first use from that name's options
/// (which are validated then, if the host has not validated them at start-up already).
/// </summary>
internal sealed class HttpCoalescingClients : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<HttpCoalescingClient>> _clients = new(StringComparer.Ordinal);
    private readonly IOptionsMonitor<HttpCoalescingOptions> _options;
    private readonly CoalescingStatsRegistry _registry;
    private readonly MemoCache _cache;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;

    public HttpCoalescingClients(
        IOptionsMonitor<HttpCoalescingOptions> options, CoalescingStatsRegistry registry, MemoCache cache, TimeProvider time,
        ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options;
        _registry = registry;
        _cache = cache;
        _time = time;
        _loggerFactory = loggerFactory;
    }

    public HttpCoalescingClient Get(string name) =>
        _clients.GetOrAdd(name, static (key, self) => new Lazy<HttpCoalescingClient>(() => self.Create(key)), this).Value;

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            if (client.IsValueCreated)
            {
                client.Value.Dispose();
            }
        }
    }

    private HttpCoalescingClient Create(string name) =>
        new(name, _options.Get(name), _registry, _cache, _time, _loggerFactory);
}
