using Microsoft.Extensions.Http;
using Microsoft.Extensions.Http.Resilience;

namespace Coalesce.AspNetCore;

/// <summary>
/// Looks at every handler chain the factory builds and, for a client with <c>AddCoalescing</c>, tells its engine
/// whether another resilience handler is in the chain, so Coalesce's own retry and timeouts step aside and retries
/// never multiply. It runs after every <c>AddHttpMessageHandler</c> action of the client, so the order of
/// <c>AddCoalescing</c> and <c>AddStandardResilienceHandler</c> does not matter to the detection.
/// </summary>
/// <remarks>
/// Recognised: Microsoft.Extensions.Http.Resilience's <see cref="ResilienceHandler"/> (behind
/// <c>AddStandardResilienceHandler</c>, <c>AddResilienceHandler</c> and <c>AddStandardHedgingHandler</c>) and the
/// older Microsoft.Extensions.Http.Polly <c>PolicyHttpMessageHandler</c> (by name, so that package is not needed).
/// </remarks>
internal sealed class ResilienceHandlerDetector : IHttpMessageHandlerBuilderFilter
{
    private const string PollyPolicyHandler = "Microsoft.Extensions.Http.PolicyHttpMessageHandler";

    public Action<HttpMessageHandlerBuilder> Configure(Action<HttpMessageHandlerBuilder> next)
    {
        ArgumentNullException.ThrowIfNull(next);
        return builder =>
        {
            next(builder);
            var coalescing = builder.AdditionalHandlers.OfType<CoalescingHttpMessageHandler>().FirstOrDefault();
            if (coalescing is null)
            {
                return;
            }

            var other = builder.AdditionalHandlers.FirstOrDefault(IsResilienceHandler);
            coalescing.Client.OtherResilienceHandler = other?.GetType().Name;
        };
    }

    private static bool IsResilienceHandler(DelegatingHandler handler) =>
        handler is ResilienceHandler || handler.GetType().FullName == PollyPolicyHandler;
}
