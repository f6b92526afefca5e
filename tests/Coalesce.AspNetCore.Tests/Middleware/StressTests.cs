using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Coalesce.AspNetCore.Tests.Middleware;

public sealed class StressTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Requests = 3_000;
    private const int Keys = 50;
    private const int ClientsAtOnce = 100;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private static readonly string?[] Identities = [null, "Bearer alice", "Bearer bob"];

    private enum KeyKind
    {
        Plain,
        AlwaysFails,
        SometimesFails,
        SetsCookie,
    }

    [Fact]
    public async Task Thousands_of_mixed_requests_finish_never_cross_keys_or_identities_and_leave_nothing_in_flight()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/k/{id:int}", async (int id, HttpContext ctx) =>
            {
                var execution = Interlocked.Increment(ref executions);
                await Task.Delay(1 + (execution % 5)); // long enough for identical requests to meet
                switch (KindOf(id))
                {
                    case KeyKind.AlwaysFails:
                    case KeyKind.SometimesFails when execution % 3 == 0:
                        throw new InvalidOperationException($"key {id} failed");
                    case KeyKind.SetsCookie:
                        ctx.Response.Cookies.Append("execution", execution.ToString(CultureInfo.InvariantCulture));
                        break;
                }

                return $"{ctx.Request.Path}|{ctx.Request.Headers.Authorization}|{execution}";
            }),
            beforeCoalescing: a => a.UseExceptionHandler(error => error.Run(ctx =>
            {
                ctx.Response.StatusCode = 500;
                return ctx.Response.WriteAsync("failed");
            })));

        var random = new Random(20_240_601);
        var plan = Enumerable.Range(0, Requests)
            .Select(_ => new Planned(random.Next(Keys), Identities[random.Next(Identities.Length)], random.Next(10) == 0 ? random.Next(1, 21) : null))
            .ToArray();
        using var slots = new SemaphoreSlim(ClientsAtOnce);
        var outcomes = await Task.WhenAll(plan.Select(p => SendAsync(app, slots, p))).WaitAsync(Bound);

        await TestApp.WaitUntilAsync(
            () => app.Stats.GetSnapshot().Requests.Active == 0 && app.Flights.InFlightCount == 0,
            "no active executions and no flights");
        var problems = new List<string>();
        foreach (var outcome in outcomes)
        {
            var expected = outcome.Plan;
            if (outcome.Error is not null)
            {
                if (expected.CancelAfterMs is null || outcome.Error is not OperationCanceledException)
                {
                    problems.Add($"{expected}: {outcome.Error.GetType().Name}: {outcome.Error.Message}");
                }

                continue;
            }

            var kind = KindOf(expected.Id);
            var prefix = $"/k/{expected.Id}|{expected.Authorization}|";
            if (outcome.Status == HttpStatusCode.OK && kind is not KeyKind.AlwaysFails && outcome.Body.StartsWith(prefix, StringComparison.Ordinal))
            {
                var execution = outcome.Body[prefix.Length..];
                if (kind == KeyKind.SetsCookie && outcome.Cookie != $"execution={execution}")
                {
                    problems.Add($"{expected}: cookie '{outcome.Cookie}' is not its own execution {execution}'s");
                }
                else if (kind != KeyKind.SetsCookie && outcome.Cookie is not null)
                {
                    problems.Add($"{expected}: unexpected cookie '{outcome.Cookie}'");
                }
            }
            else if (!(outcome.Status == HttpStatusCode.InternalServerError && kind is KeyKind.AlwaysFails or KeyKind.SometimesFails && outcome.Body == "failed"))
            {
                problems.Add($"{expected}: {(int)outcome.Status} '{outcome.Body}'");
            }
        }

        var stats = app.Stats.GetSnapshot().Requests;
        output.WriteLine($"{stats}; cancelled: {outcomes.Count(o => o.Error is OperationCanceledException)}; 500s: {outcomes.Count(o => o.Status == HttpStatusCode.InternalServerError)}");
        Assert.Empty(problems);
        Assert.True(stats.Hits > 0, "no request was coalesced: the workload did not exercise the middleware");
        Assert.True(stats.Errors > 0, "no execution failed: the workload did not exercise failures");
        Assert.Contains(outcomes, o => o.Plan.CancelAfterMs is not null && o.Error is OperationCanceledException);
    }

    private static KeyKind KindOf(int id) => (id % 10) switch
    {
        7 => KeyKind.AlwaysFails,
        5 => KeyKind.SometimesFails,
        3 => KeyKind.SetsCookie,
        _ => KeyKind.Plain,
    };

    private static async Task<Outcome> SendAsync(TestApp app, SemaphoreSlim slots, Planned plan)
    {
        await slots.WaitAsync();
        try
        {
            using var cancel = new CancellationTokenSource();
            if (plan.CancelAfterMs is { } delay)
            {
                cancel.CancelAfter(delay);
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, $"/k/{plan.Id}");
            if (plan.Authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", plan.Authorization);
            }

            using var response = await app.Client.SendAsync(request, cancel.Token);
            var body = await response.Content.ReadAsStringAsync(cancel.Token);
            var cookie = response.Headers.TryGetValues("Set-Cookie", out var cookies) ? Assert.Single(cookies).Split(';')[0] : null;
            return new Outcome(plan, response.StatusCode, body, cookie, null);
        }
        catch (Exception ex)
        {
            return new Outcome(plan, 0, string.Empty, null, ex);
        }
        finally
        {
            slots.Release();
        }
    }

    private sealed record Planned(int Id, string? Authorization, int? CancelAfterMs);

    private sealed record Outcome(Planned Plan, HttpStatusCode Status, string Body, string? Cookie, Exception? Error);
}
