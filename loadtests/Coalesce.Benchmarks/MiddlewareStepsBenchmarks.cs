using BenchmarkDotNet.Attributes;
using Coalesce.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Coalesce.Benchmarks;

/// <summary>
/// What each step of the middleware's unique-key path costs on its own, for one request (in process): deciding the
/// request is eligible, building its key, starting and settling its flight, copying its response, and counting it.
/// The sum is close to what <see cref="MiddlewareBenchmarks"/> measures for the whole path over the endpoint alone.
/// <see cref="Recorded"/> runs each step as an app runs it, with the input recording in place (the start-up filter's
/// <see cref="RequestInputs"/>), and without.
/// </summary>
[MemoryDiagnoser]
public class MiddlewareStepsBenchmarks
{
    private static readonly byte[] Body = "{\"id\":42,\"name\":\"Product 42\",\"price\":9.99}"u8.ToArray();
    private DefaultHttpContext _context = null!;
    private EndpointState _state = null!;
    private CoalescingStatsRegistry _stats = null!;
    private SharedCall _calls = null!;
    private int _id;

    /// <summary>Whether the request has the input recording in place, as every request of an app has.</summary>
    [Params(false, true)]
    public bool Recorded { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection().AddLogging().AddRequestCoalescing().BuildServiceProvider();
        _stats = services.GetRequiredService<CoalescingStatsRegistry>();
        _calls = new SharedCall();
        var endpoint = new RouteEndpoint(static _ => Task.CompletedTask, RoutePatternFactory.Parse("/products"), 0, EndpointMetadataCollection.Empty, "/products");
        _state = new EndpointState(endpoint, services.GetRequiredService<IOptions<RequestCoalescingOptions>>().Value, _stats);
        _context = new DefaultHttpContext();
        var request = _context.Request;
        request.Method = HttpMethods.Get;
        request.Scheme = "http";
        request.Host = new HostString("localhost");
        request.Path = "/products";
        request.QueryString = new QueryString("?id=12345");
        request.Headers.Accept = "application/json";
        _context.Response.Body = Stream.Null;
        _context.SetEndpoint(endpoint);
        if (Recorded)
        {
            RequestInputs.Install(_context);
            RequestInputs.Of(_context)!.Enter();
        }
    }

    [Benchmark(Description = "eligibility")]
    public bool Eligibility() => RequestCoalescingMiddleware.IsEligible(_context);

    [Benchmark(Description = "key")]
    public string Key() => RequestKeyBuilder.Build(_context, _state);

    [Benchmark(Description = "flight: lead and settle")]
    public bool Flight()
    {
        var flight = new RequestFlight("key" + (++_id & 1023), [], "/products");
        var led = flight.TryLead(_calls, out _);
        flight.TrySucceed(FlightOutcome.NotCaptured);
        return led;
    }

    [Benchmark(Description = "response copy")]
    public Task Capture()
    {
        var original = _context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        using var capture = new ResponseCapture(original, _context.Response.Headers, 1024 * 1024);
        _context.Features.Set<IHttpResponseBodyFeature>(capture);
        var write = _context.Response.Body.WriteAsync(Body).AsTask();
        _context.Features.Set(original);
        return write;
    }

    [Benchmark(Description = "counting")]
    public void Counting()
    {
        var counters = new ExecutionCounters(_state.CountersFor(HttpMethods.Get));
        counters.Started();
        counters.Completed(failed: false);
    }
}
