using Coalesce.AspNetCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds coalescing, memoization and resilience to clients from <c>IHttpClientFactory</c>.</summary>
public static class CoalescingHttpClientBuilderExtensions
{
    /// <summary>
    /// Adds a handler that makes identical concurrent GET and HEAD calls share one network call and protects every
    /// call with a rate limit, a total timeout, retry with backoff, fallback base addresses and a per-attempt timeout
    /// (Polly strategies with Microsoft.Extensions.Http.Resilience's options); see <see cref="HttpCoalescingOptions"/>.
    /// Works for named and typed clients. Also registers what <c>AddRequestCoalescing</c> registers (the app's
    /// <see cref="Coalesce.MemoCache"/>, the stats registry, the <c>Coalesce</c> meter, a <see cref="TimeProvider"/>),
    /// so the client shows under <c>httpClients</c> in <c>GET /_coalesce/stats</c>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// With <c>AddStandardResilienceHandler</c> (or <c>AddResilienceHandler</c>, <c>AddStandardHedgingHandler</c>) on the
    /// same client, in either order, that handler owns retries and timeouts and Coalesce's own retry and timeouts step
    /// aside, so retries never multiply. Call <c>AddCoalescing()</c> first: then a flight of identical requests goes
    /// through the resilience handler once (one network call, plus that handler's retries if it fails). Called after
    /// it, every caller runs its own resilience pipeline and only attempts that happen at the same time coalesce.
    /// </para>
    /// <para>
    /// When <see cref="HttpCoalescingOptions.TotalTimeout"/> is set (it is by default) and no other resilience handler
    /// is present, the client's <see cref="System.Net.Http.HttpClient.Timeout"/> is set to
    /// <see cref="Timeout.InfiniteTimeSpan"/>, so the 100-second default (or a value configured before this call)
    /// does not silently cut the handler's timeouts short. A <c>ConfigureHttpClient</c> after this call can set it
    /// again; then whichever is shorter ends the call.
    /// </para>
    /// <para>Calling it again for the same client adds <paramref name="configure"/> to the same handler.</para>
    /// </remarks>
    /// <param name="builder">The client's builder.</param>
    /// <param name="configure">Adjusts the client's <see cref="HttpCoalescingOptions"/> (named after the client); optional.</param>
    /// <returns>The builder.</returns>
    public static IHttpClientBuilder AddCoalescing(this IHttpClientBuilder builder, Action<HttpCoalescingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var name = builder.Name;
        services.AddRequestCoalescing();

        var options = services.AddOptions<HttpCoalescingOptions>(name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // A second call for the same client only adds configuration: one handler per client, never two stacked.
        var marker = new CoalescingClientMarker(name);
        if (services.Any(d => marker.Equals(d.ImplementationInstance)))
        {
            return builder;
        }

        services.AddSingleton(marker);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HttpCoalescingOptions>, HttpCoalescingOptionsRangeValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HttpCoalescingOptions>, HttpCoalescingOptionsValidator>());
        services.TryAddSingleton<HttpCoalescingClients>();

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHttpMessageHandlerBuilderFilter, ResilienceHandlerDetector>());

        // The factory builds the handler chain (and so detects another resilience handler) before it runs these.
        builder.ConfigureHttpClient((sp, client) =>
        {
            if (sp.GetRequiredService<IOptionsMonitor<HttpCoalescingOptions>>().Get(name).TotalTimeout is not null &&
                sp.GetRequiredService<HttpCoalescingClients>().Get(name).OtherResilienceHandler is null)
            {
                client.Timeout = Timeout.InfiniteTimeSpan;
            }
        });
        builder.AddHttpMessageHandler(sp => new CoalescingHttpMessageHandler(sp.GetRequiredService<HttpCoalescingClients>().Get(name)));
        return builder;
    }

    /// <summary>
    /// Adds the coalescing handler as <see cref="AddCoalescing(IHttpClientBuilder, Action{HttpCoalescingOptions}?)"/>
    /// does, with the client's <see cref="HttpCoalescingOptions"/> read from a configuration section (for example
    /// <c>builder.Configuration.GetSection("Coalesce:HttpClients:weather")</c>) and then adjusted by
    /// <paramref name="configure"/>, as <c>AddStandardResilienceHandler(IConfigurationSection)</c> does for its options.
    /// </summary>
    /// <remarks>
    /// Keys are named as the options' properties; times are <c>hh:mm:ss</c>, and an empty value switches an optional
    /// one (<c>AttemptTimeout</c>, <c>TotalTimeout</c>, <c>MemoizeTtl</c>) off. A list (<c>IgnoreHeaders</c>,
    /// <c>IgnoreRequestOptions</c>, <c>FallbackBaseAddresses</c>, <c>MemoizeTags</c>) <em>replaces</em> the default rather
    /// than adding to it (so a configured <c>IgnoreHeaders</c> names the tracing headers too, if they are to stay ignored). <c>Retry</c>
    /// (<c>MaxRetryAttempts</c>, <c>Delay</c>, <c>MaxDelay</c>, <c>BackoffType</c>, <c>UseJitter</c>,
    /// <c>ShouldRetryAfterHeader</c>) and <c>RateLimit</c> (<c>PermitsPerSecond</c>, <c>QueueLimit</c>) are sub-sections;
    /// an empty value switches either off. Delegates (<c>Retry.ShouldHandle</c>, <c>FallbackResponse</c>) are set in
    /// code. Binding is hand-written, so trimming- and AOT-safe. The options are read once, when the client's first
    /// handler is built; a value that does not parse stops the start with a message naming its configuration path,
    /// and a value out of range fails validation with a message naming the client and the option.
    /// </remarks>
    /// <param name="builder">The client's builder.</param>
    /// <param name="section">The section holding the client's options.</param>
    /// <param name="configure">Adjusts the options after binding; optional.</param>
    /// <returns>The builder.</returns>
    public static IHttpClientBuilder AddCoalescing(this IHttpClientBuilder builder, IConfiguration section, Action<HttpCoalescingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.AddOptions<HttpCoalescingOptions>(builder.Name).Configure(o => HttpCoalescingOptionsBinder.Bind(section, o));
        return builder.AddCoalescing(configure);
    }
}

/// <summary>Records that a client already has the coalescing handler.</summary>
internal sealed record CoalescingClientMarker(string ClientName);
