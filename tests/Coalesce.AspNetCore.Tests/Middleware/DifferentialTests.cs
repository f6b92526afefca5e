using System.Globalization;
using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>
/// Many concurrent clients with random mixes of methods, identities, Accept-Encoding, ranges, validators and extra
/// headers (a region one endpoint reads, noise and user agents none reads), against endpoints with compression, ETags
/// and range support, on real Kestrel: every response is what the same request gets from the same app without
/// coalescing. No crossing, no stalls.
/// </summary>
public sealed partial class DifferentialTests
{
    private const int Requests = 600;
    private const int Concurrency = 24;
    private static readonly DateTimeOffset Modified = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 2)]
    public async Task Every_response_is_what_the_request_gets_without_coalescing(bool compressionOutside, int seed)
    {
        await using var coalesced = await StartAsync(compressionOutside, useCoalescing: true);
        await using var plain = await StartAsync(compressionOutside, useCoalescing: false);

        var random = new Random(seed);
        var specs = Enumerable.Range(0, Requests).Select(_ => RequestSpec.Random(random)).ToArray();
        var next = -1;
        var mismatches = new System.Collections.Concurrent.ConcurrentBag<string>();

        async Task WorkAsync()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < specs.Length)
            {
                var spec = specs[i];
                var actual = await SendAsync(coalesced, spec);
                var expected = await SendAsync(plain, spec);
                if (actual != expected)
                {
                    mismatches.Add($"{spec}{Environment.NewLine}  coalesced: {actual}{Environment.NewLine}  without:   {expected}");
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(WorkAsync))).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.True(mismatches.IsEmpty, string.Join(Environment.NewLine, mismatches.Take(5)));
        var stats = coalesced.Stats.GetSnapshot().Requests;
        Assert.True(stats.Hits > 0, "Some requests should have been answered without running the endpoint.");
        Assert.Equal(0, stats.Active);
    }

    private static Task<TestApp> StartAsync(bool compressionOutside, bool useCoalescing)
    {
        void Compression(WebApplication app) => app.UseResponseCompression();
        return TestApp.StartAsync(
            a =>
            {
                a.MapMethods("/file/{id}", ["GET", "HEAD"], (int id, ClaimsPrincipal user) => File(id, user))
                    .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(5)).Tag("file:{id}"));
                a.MapMethods("/live/{id}", ["GET", "HEAD"], (int id, ClaimsPrincipal user) => File(id, user));
                a.MapGet("/json/{id}", async (int id, ClaimsPrincipal user, HttpContext context) =>
                {
                    await Task.Delay(2);

                    // An input outside the key (the region), read by the handler: never shared across regions.
                    var region = context.Request.Headers["X-Region"].ToString();
                    return Results.Json(new { id, user = Name(user), region, items = Enumerable.Range(0, 40).Select(i => $"item {i} of {id} in {region}") });
                }).WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(5)));
            },
            beforeCoalescing: a =>
            {
                if (compressionOutside)
                {
                    Compression(a);
                }

                a.UseAuthentication();
                a.UseAuthorization();
            },
            afterCoalescing: compressionOutside ? null : Compression,
            services: s =>
            {
                s.AddResponseCompression(o =>
                {
                    o.Providers.Add<GzipCompressionProvider>();
                    o.Providers.Add<BrotliCompressionProvider>();
                    o.MimeTypes = [.. ResponseCompressionDefaults.MimeTypes, "application/octet-stream"];
                });
                s.AddAuthentication("ApiKey").AddScheme<RequestKeyIdentityTests.ApiKeyOptions, RequestKeyIdentityTests.ApiKeyHandler>("ApiKey", o => o.WithNameIdentifier = true);
                s.AddAuthorization();
            },
            kestrel: true,
            useCoalescing: useCoalescing);
    }

    private static async Task<IResult> File(int id, ClaimsPrincipal user)
    {
        await Task.Delay(2);
        var name = Name(user);
        var body = System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 30).Select(i => $"{name}:{id}:{i};")));
        return Results.Bytes(body, "application/octet-stream", lastModified: Modified,
            entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{name}-{id}\""), enableRangeProcessing: true);
    }

    private static string Name(ClaimsPrincipal user) => user.FindFirst("name")?.Value ?? "anonymous";

    private static async Task<Reply> SendAsync(TestApp app, RequestSpec spec)
    {
        using var request = new HttpRequestMessage(new HttpMethod(spec.Method), spec.Path);
        foreach (var (name, value) in spec.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await app.Client.SendAsync(request);
        var content = response.Content.Headers;
        var encoding = content.ContentEncoding.SingleOrDefault();
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return new Reply(
            response.StatusCode,
            encoding,
            Convert.ToHexString(System.Text.Encoding.UTF8.GetBytes(CompressionTests.Decode(bytes, encoding))),
            content.ContentType?.ToString(),
            content.ContentRange?.ToString(),
            spec.Method == "HEAD" || encoding is null ? content.ContentLength : null,
            response.Headers.ETag?.ToString(),
            content.LastModified,
            // A 304 or 412 that Coalesce answers carries the stored response's Vary, as RFC 9110 asks and OutputCache
            // does; the app's own (bodiless) 304 lacks the Vary that compression adds only to bodies.
            response.StatusCode is HttpStatusCode.NotModified or HttpStatusCode.PreconditionFailed
                ? "(any)"
                : string.Join(",", response.Headers.Vary.Order(StringComparer.OrdinalIgnoreCase)),
            string.Join(",", response.Headers.AcceptRanges));
    }

    private sealed record Reply(
        HttpStatusCode Status, string? Encoding, string Body, string? ContentType, string? ContentRange, long? ContentLength,
        string? ETag, DateTimeOffset? LastModified, string Vary, string AcceptRanges);

    private sealed record RequestSpec(string Method, string Path, (string Name, string Value)[] Headers)
    {
        private static readonly string?[] Users = [null, "alice-key", "bob-key"];
        private static readonly string?[] Encodings = [null, "gzip", "br", "gzip, br"];
        private static readonly string?[] Regions = [null, "north", "south"];
        private static readonly string?[] Ranges = [null, null, null, "bytes=0-9", "bytes=-5", "bytes=50-", "bytes=0-1,4-5", "bytes=9999-"];

        public static RequestSpec Random(Random random)
        {
            var id = random.Next(3);
            var path = random.Next(3) switch
            {
                0 => $"/file/{id}",
                1 => $"/live/{id}",
                _ => $"/json/{id}",
            };
            var method = path.StartsWith("/json", StringComparison.Ordinal) || random.Next(5) > 0 ? "GET" : "HEAD";
            var user = Users[random.Next(Users.Length)];
            var headers = new List<(string, string)>();
            if (user is not null)
            {
                headers.Add(("X-Secret-Key", user));
            }

            if (Encodings[random.Next(Encodings.Length)] is { } encoding)
            {
                headers.Add(("Accept-Encoding", encoding));
            }

            if (Ranges[random.Next(Ranges.Length)] is { } range)
            {
                headers.Add(("Range", range));
                if (random.Next(4) == 0)
                {
                    headers.Add(("If-Range", random.Next(2) == 0 ? Tag(user, id) : "\"stale\""));
                }
            }

            if (Regions[random.Next(Regions.Length)] is { } region)
            {
                headers.Add(("X-Region", region));
            }

            // Headers no endpoint reads: they must not stop sharing, nor change any answer.
            headers.Add(("X-Noise", random.Next(1000).ToString(CultureInfo.InvariantCulture)));
            headers.Add(("User-Agent", $"client/{random.Next(20)}"));

            var etag = random.Next(3) == 0 ? Tag(user, id) : "\"other\"";
            switch (random.Next(9))
            {
                case 0:
                    headers.Add(("If-None-Match", etag));
                    break;
                case 1:
                    headers.Add(("If-None-Match", $"W/{etag}"));
                    break;
                case 2:
                    headers.Add(("If-Modified-Since", Modified.AddDays(random.Next(2) - 1).ToString("R", CultureInfo.InvariantCulture)));
                    break;
                case 3:
                    headers.Add(("If-Match", etag));
                    break;
                case 4:
                    headers.Add(("If-Unmodified-Since", Modified.AddDays(random.Next(2) * 2 - 1).ToString("R", CultureInfo.InvariantCulture)));
                    break;
            }

            return new RequestSpec(method, path, [.. headers]);
        }

        public override string ToString() => $"{Method} {Path} {string.Join("; ", Headers.Select(h => $"{h.Name}: {h.Value}"))}";

        private static string Tag(string? user, int id) => $"\"{(user is null ? "anonymous" : user[..user.IndexOf('-', StringComparison.Ordinal)])}-{id}\"";
    }
}
