namespace Coalesce.AspNetCore;

/// <summary>
/// The <see cref="DelegatingHandler"/> that <c>AddCoalescing</c> puts in a client's handler chain. Stateless: the
/// flights, rate limit and stats live in the client's <see cref="HttpCoalescingClient"/>, which outlives the
/// factory's handler rotation.
/// </summary>
internal sealed class CoalescingHttpMessageHandler : DelegatingHandler
{
    private readonly Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> _next;

    public CoalescingHttpMessageHandler(HttpCoalescingClient client)
    {
        Client = client;
        _next = (request, cancellationToken) => base.SendAsync(request, cancellationToken);
    }

    /// <summary>The client's engine.</summary>
    public HttpCoalescingClient Client { get; }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Client.SendAsync(request, _next, cancellationToken);

    /// <summary>
    /// The synchronous path would have to block on the asynchronous pipeline (retry delays, shared calls), so it is
    /// refused rather than silently skipping coalescing, retry and timeouts.
    /// </summary>
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        throw new NotSupportedException(
            $"HttpClient '{Client.Name}' has AddCoalescing: use SendAsync (or GetAsync and the other asynchronous methods); the synchronous Send is not supported.");
}
