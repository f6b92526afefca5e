using System.IO.Compression;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>
/// Response compression in either order around coalescing, on real Kestrel: every client gets a body it can
/// decode with the Content-Encoding it was sent, in an encoding it accepted, from followers and memo hits alike.
/// </summary>
public sealed class CompressionTests
{
    private static readonly string Document = string.Concat(Enumerable.Range(0, 400).Select(i => $"line {i} of a compressible document\n"));

    public enum Order
    {
        CompressionOutside,
        CompressionInside,
    }

    public static TheoryData<Order, bool, string> Cases()
    {
        var data = new TheoryData<Order, bool, string>();
        foreach (var order in Enum.GetValues<Order>())
        {
            foreach (var memoize in new[] { false, true })
            {
                foreach (var style in new[] { "stream", "pipe", "json" })
                {
                    data.Add(order, memoize, style);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Every_client_gets_a_body_it_can_decode_in_an_encoding_it_accepted(Order order, bool memoize, string style)
    {
        var gate = new Gate();
        await using var app = await StartAsync(order, gate, memoize, style);
        string?[] encodings = ["gzip", "br", null, "gzip, br", "identity"];

        // Ten clients per encoding at once, held at the gate so the followers of each encoding really wait.
        var requests = Enumerable.Range(0, 50).Select(i => SendAsync(app, encodings[i % encodings.Length])).ToArray();
        await gate.WaitForExecutionsAsync(encodings.Length);
        await app.WaitForFollowersAsync(45);
        gate.Open();
        var first = await Task.WhenAll(requests);

        // Then the same again, one at a time: memo hits when memoized, fresh executions otherwise.
        var second = new List<(string?, string?, string)>();
        for (var i = 0; i < 10; i++)
        {
            await app.WaitForNoFlightsAsync();
            second.Add(await SendAsync(app, encodings[i % encodings.Length]));
        }

        foreach (var (accepted, encoding, body) in first.Concat(second))
        {
            Assert.Equal(ExpectedBody(style), body);
            if (accepted is null or "identity")
            {
                Assert.Null(encoding);
            }
            else
            {
                Assert.NotNull(encoding);
                Assert.Contains(encoding, accepted, StringComparison.Ordinal);
            }
        }

        Assert.Equal(memoize ? encodings.Length : encodings.Length + 10, gate.Executions);
    }

    [Fact]
    public async Task The_middlewares_own_Vary_is_not_replayed_twice_when_compression_is_outside()
    {
        var gate = new Gate();
        await using var app = await StartAsync(Order.CompressionOutside, gate, memoize: true, "stream");
        gate.Open();
        await SendAsync(app, "gzip");

        using var request = new HttpRequestMessage(HttpMethod.Get, "/doc");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
        using var hit = await app.Client.SendAsync(request);

        Assert.Equal("gzip", Assert.Single(hit.Content.Headers.ContentEncoding));
        Assert.Equal(["Accept-Encoding"], hit.Headers.Vary);
        Assert.Equal(1, gate.Executions);
    }

    internal static string ExpectedBody(string style) => style == "json" ? $"{{\"text\":{System.Text.Json.JsonSerializer.Serialize(Document)}}}" : Document;

    private static Task<TestApp> StartAsync(Order order, Gate gate, bool memoize, string style)
    {
        void Compression(WebApplication app) => app.UseResponseCompression();
        return TestApp.StartAsync(
            a =>
            {
                var endpoint = a.MapGet("/doc", async (HttpContext ctx) =>
                {
                    await gate.EnterAndWaitAsync();
                    switch (style)
                    {
                        case "stream":
                            ctx.Response.ContentType = "text/plain";
                            await ctx.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(Document));
                            break;
                        case "pipe":
                            ctx.Response.ContentType = "text/plain";
                            await ctx.Response.BodyWriter.WriteAsync(Encoding.UTF8.GetBytes(Document));
                            break;
                        default:
                            await ctx.Response.WriteAsJsonAsync(new { text = Document });
                            break;
                    }
                });
                if (memoize)
                {
                    endpoint.WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(5)));
                }
            },
            beforeCoalescing: order == Order.CompressionOutside ? Compression : null,
            afterCoalescing: order == Order.CompressionInside ? Compression : null,
            services: s => s.AddResponseCompression(o =>
            {
                o.Providers.Add<GzipCompressionProvider>();
                o.Providers.Add<BrotliCompressionProvider>();
            }),
            kestrel: true);
    }

    private static async Task<(string? Accepted, string? Encoding, string Body)> SendAsync(TestApp app, string? acceptEncoding)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/doc");
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        }

        using var response = await app.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var encoding = response.Content.Headers.ContentEncoding.SingleOrDefault();
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return (acceptEncoding, encoding, Decode(bytes, encoding));
    }

    /// <summary>Decodes as a client would (what <c>curl --compressed</c> does): a mismatch throws or garbles.</summary>
    internal static string Decode(byte[] bytes, string? encoding)
    {
        using var input = new MemoryStream(bytes);
        using Stream decoded = encoding switch
        {
            null => input,
            "gzip" => new GZipStream(input, CompressionMode.Decompress),
            "br" => new BrotliStream(input, CompressionMode.Decompress),
            _ => throw new InvalidDataException($"Unexpected Content-Encoding '{encoding}'."),
        };
        using var reader = new StreamReader(decoded, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
