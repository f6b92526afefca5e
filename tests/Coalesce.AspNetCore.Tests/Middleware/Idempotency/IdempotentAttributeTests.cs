using System.Net;
using System.Text;
using Coalesce.AspNetCore.Tests.Endpoints;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.AspNetCore.Tests.Middleware.Idempotency;

/// <summary><c>[Idempotent]</c> on an MVC action, on real Kestrel.</summary>
public sealed class IdempotentAttributeTests
{
    [Fact]
    public async Task An_mvc_replay_is_the_bytes_first_sent_never_a_406_from_content_negotiation()
    {
        await using var app = await TestApp.StartAsync(
            a => a.MapControllers(),
            o => o.AddPolicy("reports", _ => { }), // PolicyController, also in this assembly, names it
            services: s => s.AddControllers(o => o.ReturnHttpNotAcceptable = true).AddApplicationPart(typeof(IdempotentOrdersController).Assembly),
            kestrel: true);
        var before = IdempotentOrdersController.Runs;

        var first = await PostAsync(app, "application/json");
        var replayJson = await PostAsync(app, "application/json");
        var replayXml = await PostAsync(app, "application/xml");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(before + 1, IdempotentOrdersController.Runs);
        var body = await first.Content.ReadAsByteArrayAsync();
        foreach (var replay in new[] { replayJson, replayXml })
        {
            Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
            Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
            Assert.Equal(first.Headers.Location, replay.Headers.Location);
            Assert.Equal(first.Content.Headers.ContentType, replay.Content.Headers.ContentType);
            Assert.Equal(body, await replay.Content.ReadAsByteArrayAsync());
        }

        using var withoutKey = new HttpRequestMessage(HttpMethod.Post, "/mvc/idempotent-orders")
        {
            Content = new StringContent("{\"sku\":\"a\",\"quantity\":1}", Encoding.UTF8, "application/json"),
        };
        Assert.Equal(HttpStatusCode.BadRequest, (await app.Client.SendAsync(withoutKey)).StatusCode);
        Assert.Equal(before + 1, IdempotentOrdersController.Runs);
    }

    private static Task<HttpResponseMessage> PostAsync(TestApp app, string accept)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/mvc/idempotent-orders")
        {
            Content = new StringContent("{\"sku\":\"a\",\"quantity\":1}", Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Accept", accept);
        request.Headers.TryAddWithoutValidation("Idempotency-Key", "mvc-1");
        return app.Client.SendAsync(request);
    }
}
