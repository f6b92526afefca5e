using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>The key on its own: which requests meet, and which never may.</summary>
public sealed class RequestKeyTests
{
    private readonly EndpointState _state;

    public RequestKeyTests()
    {
        var services = new ServiceCollection().AddLogging().AddRequestCoalescing().BuildServiceProvider();
        var endpoint = new RouteEndpoint(static _ => Task.CompletedTask, RoutePatternFactory.Parse("/items"), 0, EndpointMetadataCollection.Empty, "/items");
        _state = new EndpointState(
            endpoint, services.GetRequiredService<IOptions<RequestCoalescingOptions>>().Value, services.GetRequiredService<CoalescingStatsRegistry>());
    }

    [Fact]
    public void A_vary_header_that_is_absent_differs_from_one_sent_empty_and_each_header_is_told_apart_by_name()
    {
        var absent = Key(_ => { });
        var alsoAbsent = Key(_ => { });
        var empty = Key(h => h.Accept = "");
        var acceptX = Key(h => h.Accept = "x");
        var languageX = Key(h => h.AcceptLanguage = "x");
        var both = Key(h =>
        {
            h.Accept = "x";
            h.AcceptLanguage = "x";
        });

        Assert.Equal(absent, alsoAbsent);
        Assert.Equal(6, new HashSet<string>([absent, empty, acceptX, languageX, both, Key(h => h.Accept = "x,x")]).Count);
    }

    [Fact]
    public void A_header_value_cannot_pose_as_another_header()
    {
        // Without the length of each name and value, Accept "a" followed by Accept-Language "b" could be spelled by
        // one Accept value that contains the next header's text.
        var two = Key(h =>
        {
            h.Accept = "a";
            h.AcceptLanguage = "b";
        });
        var forged = Key(h => h.Accept = "a1#1:bH15:Accept-Language1#1:b");

        Assert.NotEqual(two, forged);
    }

    private string Key(Action<IHeaderDictionary> headers)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Get;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("localhost");
        context.Request.Path = "/items";
        headers(context.Request.Headers);
        return RequestKeyBuilder.Build(context, _state);
    }
}
