using System.Globalization;
using BenchmarkDotNet.Attributes;
using Coalesce.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Coalesce.Benchmarks;

/// <summary>
/// The cost the request-coalescing middleware adds to one request, in process (no sockets): a request with a
/// unique key (nothing to share, the overhead case) and a memoized hit, against calling the endpoint directly.
/// </summary>
[MemoryDiagnoser]
public class MiddlewareBenchmarks
{
    private static readonly byte[] Body = "{\"id\":42,\"name\":\"Product 42\",\"price\":9.99}"u8.ToArray();
    private RequestDelegate _endpointOnly = null!;
    private RequestDelegate _coalesced = null!;
    private Endpoint _plain = null!;
    private Endpoint _memoized = null!;
    private int _id;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection().AddLogging().AddRequestCoalescing().BuildServiceProvider();
        _endpointOnly = static context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.Body.WriteAsync(Body).AsTask();
        };

        _coalesced = new RequestCoalescingMiddleware(
            _endpointOnly,
            services.GetRequiredService<IOptions<RequestCoalescingOptions>>(),
            services.GetRequiredService<CoalescingStatsRegistry>(),
            services.GetRequiredService<RequestFlights>(),
            services.GetRequiredService<MemoCache>(),
            TimeProvider.System,
            NullLogger<RequestCoalescingMiddleware>.Instance,
            services.GetRequiredService<HybridCacheTagInvalidator>(),
            services).InvokeAsync;

        _plain = Endpoint("/products", null);
        var memoize = new CoalescingPolicyBuilder().Memoize(TimeSpan.FromHours(1)).Build();
        _memoized = Endpoint("/products/42", memoize);
    }

    [Benchmark(Baseline = true, Description = "endpoint only")]
    public Task Endpoint_only() => _endpointOnly(NewContext(_plain, unique: true));

    [Benchmark(Description = "coalescing, unique key")]
    public Task Coalescing_unique_key() => _coalesced(NewContext(_plain, unique: true));

    /// <summary>As an app runs it: the start-up filter has put the input recording in place (RequestInputs).</summary>
    [Benchmark(Description = "coalescing, unique key, inputs recorded")]
    public Task Coalescing_unique_key_inputs_recorded()
    {
        var context = NewContext(_plain, unique: true);
        RequestInputs.Install(context);
        return _coalesced(context);
    }

    [Benchmark(Description = "memoized hit, inputs recorded")]
    public Task Memoized_hit_inputs_recorded()
    {
        var context = NewContext(_memoized, unique: false);
        RequestInputs.Install(context);
        return _coalesced(context);
    }

    [Benchmark(Description = "memoized hit")]
    public Task Memoized_hit() => _coalesced(NewContext(_memoized, unique: false));

    private DefaultHttpContext NewContext(Endpoint endpoint, bool unique)
    {
        var context = new DefaultHttpContext();
        var request = context.Request;
        request.Method = HttpMethods.Get;
        request.Scheme = "http";
        request.Host = new HostString("localhost");
        request.Path = endpoint == _plain ? "/products" : "/products/42";
        if (unique)
        {
            request.QueryString = new QueryString("?id=" + (++_id).ToString(CultureInfo.InvariantCulture));
        }

        request.Headers.Accept = "application/json";
        context.Response.Body = Stream.Null;
        context.SetEndpoint(endpoint);
        return context;
    }

    private static RouteEndpoint Endpoint(string pattern, object? metadata) => new(
        static _ => Task.CompletedTask,
        RoutePatternFactory.Parse(pattern),
        0,
        metadata is null ? EndpointMetadataCollection.Empty : new EndpointMetadataCollection(metadata),
        pattern);
}
