using System.Diagnostics;

namespace Coalesce.AspNetCore.Tests.Http;

public sealed class HttpRequestKeyTests
{
    private static readonly HttpCoalescingOptions Defaults = new();

    private static HttpRequestKey DefaultKey() => new(Defaults.IgnoreHeaders, Defaults.IgnoreRequestOptions);

    private static HttpRequestMessage Get(Action<HttpRequestMessage>? configure = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "http://upstream.test/items?page=2");
        configure?.Invoke(request);
        return request;
    }

    private static string KeyOf(HttpRequestKey key, Action<HttpRequestMessage> configure)
    {
        using var request = Get(configure);
        return key.Build(request);
    }

    [Theory]
    [InlineData("X-Api-Key")]
    [InlineData("X-Tenant")]
    [InlineData("Accept")]
    [InlineData("Accept-Language")]
    [InlineData("User-Agent")]
    [InlineData("Authorization")]
    [InlineData("Cookie")]
    [InlineData("Proxy-Authorization")]
    public void Any_header_that_differs_changes_the_key(string header)
    {
        var key = DefaultKey();

        var a = KeyOf(key, r => r.Headers.TryAddWithoutValidation(header, "a"));
        var b = KeyOf(key, r => r.Headers.TryAddWithoutValidation(header, "b"));
        var none = KeyOf(key, _ => { });

        Assert.NotEqual(a, b);
        Assert.NotEqual(a, none);
        Assert.Equal(a, KeyOf(key, r => r.Headers.TryAddWithoutValidation(header, "a")));
    }

    [Fact]
    public void Header_values_never_appear_in_the_key_in_clear()
    {
        using var request = Get(r =>
        {
            r.Headers.TryAddWithoutValidation("X-Api-Key", "secret-api-key");
            r.Headers.TryAddWithoutValidation("Authorization", "Bearer secret-token");
            r.Headers.TryAddWithoutValidation("Cookie", "session=secret-cookie");
            r.Options.Set(new HttpRequestOptionsKey<string>("token"), "secret-option");
        });
        var key = DefaultKey().Build(request);

        Assert.DoesNotContain("secret", key, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("3:GET", key, StringComparison.Ordinal);
        Assert.Contains("http://upstream.test/items?page=2", key, StringComparison.Ordinal);
    }

    [Fact]
    public void Header_order_and_name_case_do_not_change_the_key_but_value_order_does()
    {
        var key = DefaultKey();

        var first = KeyOf(key, r =>
        {
            r.Headers.TryAddWithoutValidation("X-Tenant", "acme");
            r.Headers.TryAddWithoutValidation("Accept", "application/json");
        });
        var reordered = KeyOf(key, r =>
        {
            r.Headers.TryAddWithoutValidation("accept", "application/json");
            r.Headers.TryAddWithoutValidation("x-tenant", "acme");
        });
        var values = KeyOf(key, r => r.Headers.TryAddWithoutValidation("X-Tags", ["a", "b"]));
        var swapped = KeyOf(key, r => r.Headers.TryAddWithoutValidation("X-Tags", ["b", "a"]));
        var joined = KeyOf(key, r => r.Headers.TryAddWithoutValidation("X-Tags", "a, b"));

        Assert.Equal(first, reordered);
        Assert.NotEqual(values, swapped);
        Assert.NotEqual(values, joined);
    }

    [Fact]
    public void Values_cannot_run_into_the_next_header()
    {
        var key = DefaultKey();

        var a = KeyOf(key, r =>
        {
            r.Headers.TryAddWithoutValidation("X-A", "1H3:x-b1#1:2");
        });
        var b = KeyOf(key, r =>
        {
            r.Headers.TryAddWithoutValidation("X-A", "1");
            r.Headers.TryAddWithoutValidation("X-B", "2");
        });

        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Tracing_headers_do_not_change_the_key()
    {
        var key = DefaultKey();

        var plain = KeyOf(key, r => r.Headers.TryAddWithoutValidation("X-Tenant", "acme"));
        var traced = KeyOf(key, r =>
        {
            r.Headers.TryAddWithoutValidation("X-Tenant", "acme");
            r.Headers.TryAddWithoutValidation("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
            r.Headers.TryAddWithoutValidation("tracestate", "congo=t61rcWkgMzE");
            r.Headers.TryAddWithoutValidation("baggage", "userId=alice");
            r.Headers.TryAddWithoutValidation("Request-Id", "|abc.1.");
            r.Headers.TryAddWithoutValidation("Correlation-Context", "userId=alice");
        });

        Assert.Equal(plain, traced);
        Assert.EndsWith("H-", KeyOf(key, r => r.Headers.TryAddWithoutValidation("traceparent", "00-1-2-01")), StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_ignored_headers_are_every_header_the_frameworks_propagators_write()
    {
        DistributedContextPropagator[] propagators =
        [
            DistributedContextPropagator.CreateDefaultPropagator(),
            DistributedContextPropagator.CreateW3CPropagator(),
            DistributedContextPropagator.CreatePreW3CPropagator(),
            DistributedContextPropagator.CreatePassThroughPropagator(),
            DistributedContextPropagator.Current,
        ];

        var fields = propagators.SelectMany(p => p.Fields).ToHashSet(StringComparer.OrdinalIgnoreCase);

        Assert.NotEmpty(fields);
        Assert.Subset(Defaults.IgnoreHeaders.ToHashSet(StringComparer.OrdinalIgnoreCase), fields);
    }

    [Fact]
    public void Headers_a_propagator_injects_for_a_new_activity_each_call_do_not_change_the_key()
    {
        var key = DefaultKey();
        string KeyWithActivity(DistributedContextPropagator propagator)
        {
            using var activity = new Activity("call").SetIdFormat(ActivityIdFormat.W3C).AddBaggage("userId", Guid.NewGuid().ToString());
            activity.TraceStateString = $"k={Guid.NewGuid():N}";
            activity.Start();
            using var request = Get(r => r.Headers.TryAddWithoutValidation("X-Tenant", "acme"));
            propagator.Inject(activity, request, static (carrier, name, value) => ((HttpRequestMessage)carrier!).Headers.TryAddWithoutValidation(name, value));
            Assert.True(request.Headers.Contains("traceparent"));
            return key.Build(request);
        }

        foreach (var propagator in new[] { DistributedContextPropagator.CreateDefaultPropagator(), DistributedContextPropagator.CreateW3CPropagator() })
        {
            Assert.Equal(KeyWithActivity(propagator), KeyWithActivity(propagator));
        }
    }

    [Fact]
    public void Request_options_compare_by_value_for_strings_primitives_and_enums_and_by_reference_otherwise()
    {
        var key = DefaultKey();
        var shared = new object();
        string With(object? value) => KeyOf(key, r => ((IDictionary<string, object?>)r.Options)["option"] = value);

        // Equal by value: built twice from equal but distinct values.
        Assert.Equal(With("acme"), With(new string("acme".AsSpan())));
        Assert.Equal(With(42), With(42));
        Assert.Equal(With(DayOfWeek.Monday), With(DayOfWeek.Monday));
        Assert.Equal(With(1.5m), With(1.5m));
        Assert.Equal(With(new DateTime(2025, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc)), With(new DateTime(2025, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc)));
        Assert.Equal(With(TimeSpan.FromMilliseconds(1.5)), With(TimeSpan.FromMilliseconds(1.5)));
        Assert.Equal(With(Guid.Empty), With(Guid.Empty));
        Assert.Equal(With(true), With(true));
        Assert.Equal(With(null), With(null));
        Assert.Equal(With(shared), With(shared));

        // Different values, types or objects.
        Assert.NotEqual(With("acme"), With("globex"));
        Assert.NotEqual(With(42), With(43));
        Assert.NotEqual(With(1), With(1L));
        Assert.NotEqual(With(1), With("1"));
        Assert.NotEqual(With(1), With(DayOfWeek.Monday));
        Assert.NotEqual(With(true), With(false));
        Assert.NotEqual(With(null), With(""));
        Assert.NotEqual(With(0.1 + 0.2), With(0.3));
        Assert.NotEqual(With(new DateTime(2025, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc)), With(new DateTime(2025, 1, 2, 3, 4, 5, 679, DateTimeKind.Utc)));
        Assert.NotEqual(With(new DateTime(2025, 1, 2, 0, 0, 0, DateTimeKind.Utc)), With(new DateTime(2025, 1, 2, 0, 0, 0, DateTimeKind.Local)));
        Assert.NotEqual(With(new object()), With(new object()));
        Assert.NotEqual(With(shared), With(new object()));
        Assert.NotEqual(With(new List<int> { 1 }), With(new List<int> { 1 }));

        // No option and an option set to null differ too: the key holds the option's name.
        Assert.NotEqual(KeyOf(key, _ => { }), With(null));
    }

    [Fact]
    public void Option_order_does_not_change_the_key_and_ignored_options_do_not_count()
    {
        var key = DefaultKey();

        var ab = KeyOf(key, r =>
        {
            r.Options.Set(new HttpRequestOptionsKey<string>("a"), "1");
            r.Options.Set(new HttpRequestOptionsKey<int>("b"), 2);
        });
        var ba = KeyOf(key, r =>
        {
            r.Options.Set(new HttpRequestOptionsKey<int>("b"), 2);
            r.Options.Set(new HttpRequestOptionsKey<string>("a"), "1");
        });
        var withContext = KeyOf(key, r =>
        {
            r.Options.Set(new HttpRequestOptionsKey<string>("a"), "1");
            r.Options.Set(new HttpRequestOptionsKey<int>("b"), 2);
            r.Options.Set(new HttpRequestOptionsKey<object>("Resilience.Http.ResilienceContext"), new object());
            r.Options.Set(new HttpRequestOptionsKey<object>("PolicyExecutionContext"), new object());
        });

        Assert.Equal(ab, ba);
        Assert.Equal(ab, withContext);
    }

    [Fact]
    public void Method_uri_and_version_change_the_key()
    {
        var key = DefaultKey();
        var plain = KeyOf(key, _ => { });

        Assert.NotEqual(plain, KeyOf(key, r => r.Method = HttpMethod.Head));
        Assert.NotEqual(plain, KeyOf(key, r => r.RequestUri = new Uri("http://upstream.test/items?page=3")));
        Assert.NotEqual(plain, KeyOf(key, r => r.Version = new Version(2, 0)));
        Assert.NotEqual(plain, KeyOf(key, r => r.VersionPolicy = HttpVersionPolicy.RequestVersionOrHigher));
    }

    [Fact]
    public void Headers_and_options_named_in_the_ignore_lists_do_not_change_the_key()
    {
        var key = new HttpRequestKey(["X-Request-Id"], ["call-id"]);

        var a = KeyOf(key, r =>
        {
            r.Headers.TryAddWithoutValidation("x-request-id", "1");
            r.Options.Set(new HttpRequestOptionsKey<Guid>("call-id"), Guid.NewGuid());
        });
        var b = KeyOf(key, r =>
        {
            r.Headers.TryAddWithoutValidation("X-Request-Id", "2");
            r.Options.Set(new HttpRequestOptionsKey<Guid>("call-id"), Guid.NewGuid());
        });

        Assert.Equal(a, b);
        Assert.Equal(KeyOf(key, _ => { }), a);
    }
}
