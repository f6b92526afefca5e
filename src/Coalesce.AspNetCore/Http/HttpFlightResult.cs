namespace Coalesce.AspNetCore;

/// <summary>
/// What one coalesced network call produced: a buffered response every caller replays, or — when the body was too
/// large to buffer — the streamed response, which exactly one caller takes while the others send their own requests.
/// </summary>
internal sealed class HttpFlightResult
{
    private HttpResponseMessage? _streamed;

    public HttpFlightResult(BufferedHttpResponse buffered)
    {
        Buffered = buffered;
    }

    public HttpFlightResult(HttpResponseMessage streamed)
    {
        _streamed = streamed;
    }

    public BufferedHttpResponse? Buffered { get; }

    /// <summary>The streamed response for the first caller that asks, then <see langword="null"/>.</summary>
    public HttpResponseMessage? TakeStreamed() => Interlocked.Exchange(ref _streamed, null);
}
