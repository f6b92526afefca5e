namespace Coalesce.AspNetCore;

/// <summary>
/// The <see cref="DelegatingHandler"/> that <c>AddCoalescing</c> puts in a client's handler chain. Stateless: the
/// flights, rate limit and stats live in the client's <see cref="HttpCoalescingClient"/>, which outlives the
/// factory's handler rotation.
/// </summary>
internal sealed class CoalescingHttpMessageHandler : DelegatingHandler
{
    private readonly HttpCoalescingClient _client;
    private readonly Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> _next;

    public CoalescingHttpMessageHandler(HttpCoalescingClient client)
    {
        _client = client;
        _next = (request, cancellationToken) => base.SendAsync(request, cancellationToken);
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _client.SendAsync(request, _next, cancellationToken);

    /// <summary>
    /// The synchronous path would have to block on the asynchronous pipeline (retry delays, shared calls), so it is
    /// refused rather than silently skipping coalescing, retry and timeouts.
    /// </summary>
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        throw new NotSupportedException(
            $"HttpClient '{_client.Name}' has AddCoalescing: use SendAsync (or GetAsync and the other asynchronous methods); the synchronous Send is not supported.");
}
