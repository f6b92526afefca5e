using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>The pure rules of whether a leader's finished response may be shared and kept (Shareability).</summary>
public sealed class ShareabilityTests
{
    private const long Limit = 64;

    [Fact]
    public void A_plain_finished_response_may_be_shared_and_kept()
    {
        var (context, capture) = Leader(body: "hello"u8.ToArray());

        Assert.Null(Shareability.WhyNotShareable(context, State(), capture, Limit));
        Assert.True(Shareability.IsMemoizable(context, capture));
    }

    [Fact]
    public void A_body_over_the_limit_is_not_shared()
    {
        var (context, capture) = Leader(body: new byte[Limit + 1]);

        Assert.Equal($"body larger than {Limit} bytes", Shareability.WhyNotShareable(context, State(), capture, Limit));
    }

    [Fact]
    public void A_response_that_sets_a_cookie_is_not_shared()
    {
        var (context, capture) = Leader(body: [1], configure: r => r.Headers.SetCookie = "session=1");

        Assert.Equal("it sets a cookie", Shareability.WhyNotShareable(context, State(), capture, Limit));
    }

    [Theory]
    [InlineData(StatusCodes.Status206PartialContent)]
    [InlineData(StatusCodes.Status304NotModified)]
    [InlineData(StatusCodes.Status412PreconditionFailed)]
    public void A_partial_or_conditional_answer_is_not_shared(int status)
    {
        var (context, capture) = Leader(body: [], configure: r => r.StatusCode = status);

        Assert.Equal($"status {status} answers only its own request", Shareability.WhyNotShareable(context, State(), capture, Limit));
    }

    [Fact]
    public void An_unfinished_body_is_not_shared()
    {
        var (context, capture) = Leader(body: [1, 2], configure: r => r.ContentLength = 10);

        Assert.Equal("unfinished: 2 of 10 bytes", Shareability.WhyNotShareable(context, State(), capture, Limit));
    }

    [Fact]
    public void A_vary_on_a_header_the_key_holds_is_shared_one_it_does_not_is_not()
    {
        var (held, heldCapture) = Leader(body: [1], configure: r => r.Headers.Vary = "Accept-Encoding");
        var (other, otherCapture) = Leader(body: [1], configure: r => r.Headers.Vary = "X-Tenant");

        Assert.Null(Shareability.WhyNotShareable(held, State(), heldCapture, Limit));
        Assert.Equal("it varies on 'X-Tenant', which the key does not hold", Shareability.WhyNotShareable(other, State(), otherCapture, Limit));
        Assert.True(Shareability.IsInKey(State(), "accept-encoding"));
        Assert.True(Shareability.IsInKey(State(), "Authorization")); // an identity header, with identity in the key
        Assert.False(Shareability.IsInKey(State(), "X-Tenant"));
    }

    [Theory]
    [InlineData(404, null, false)]
    [InlineData(200, "no-store", false)]
    [InlineData(200, "private, no-store", false)]
    [InlineData(200, "max-age=60", true)]
    [InlineData(204, null, true)]
    public void Only_a_2xx_that_allows_storing_is_kept(int status, string? cacheControl, bool memoizable)
    {
        var (context, capture) = Leader(body: [], configure: r =>
        {
            r.StatusCode = status;
            if (cacheControl is not null)
            {
                r.Headers.CacheControl = cacheControl;
            }
        });

        Assert.Equal(memoizable, Shareability.IsMemoizable(context, capture));
    }

    private static EndpointState State() => new(
        new RouteEndpoint(static _ => Task.CompletedTask, RoutePatternFactory.Parse("/x"), 0, EndpointMetadataCollection.Empty, "/x"),
        new RequestCoalescingOptions(),
        new CoalescingStatsRegistry(new MemoCache()));

    /// <summary>A leader's finished response: the capture saw <paramref name="body"/> leave through it.</summary>
    private static (HttpContext Context, ResponseCapture Capture) Leader(byte[] body, Action<HttpResponse>? configure = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Get;
        context.Response.Body = Stream.Null;
        configure?.Invoke(context.Response);
        var capture = new ResponseCapture(context.Features.GetRequiredFeature<IHttpResponseBodyFeature>(), context.Response.Headers, Limit);
        capture.BeforeOutput();
        capture.Append(body);
        capture.Finish();
        return (context, capture);
    }
}
