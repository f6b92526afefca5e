using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Coalesce.AspNetCore;

/// <summary>
/// Stands in for the leader's <see cref="IHttpResponseBodyFeature"/> while its pipeline runs. Whatever way the
/// app writes (<c>Body</c>, <c>BodyWriter</c>, <c>SendFileAsync</c>), the bytes reach the leader's client as
/// usual and a copy is kept, up to the configured limit.
/// </summary>
/// <remarks>
/// The copy holds the bytes as the inner pipeline wrote them. Middleware outside this one may still transform
/// them on their way out (response compression sets <c>Content-Encoding</c> and <c>Vary</c> as the first bytes
/// pass through it), so the headers that describe the copied bytes are read at the moment the first bytes leave
/// the inner pipeline (<see cref="ContentEncoding"/>, <see cref="Vary"/>), not when the response ends.
/// </remarks>
internal sealed class ResponseCapture(
    IHttpResponseBodyFeature original, IHeaderDictionary headers, long limit, Action<object>? onStreaming = null, object? streamingState = null)
    : IHttpResponseBodyFeature, IDisposable
{
    /// <summary>
    /// Who streams the body to followers while it is written (the leader, for its flight): asked at the first output
    /// whether to, and told once the response has started, when its headers are final.
    /// </summary>
    internal interface IFanOutHost
    {
        /// <summary>A body to copy the output into for followers, or <see langword="null"/> when none waits.</summary>
        FlightBody? BeginFanOut(ResponseCapture capture);

        /// <summary>The response has started: its status and headers are final.</summary>
        void ResponseStarted(ResponseCapture capture);
    }

    private TeeStream? _stream;
    private TeePipeWriter? _writer;
    private bool _outputStarted;
    private CaptureBuffer _copy = new(limit);
    private bool _startPending;

    // Whether fan-out was decided (started, declined or impossible): a leader decides once.
    private bool _fanOutDecided;

    /// <summary>Streams the body to followers while it is written; set by the leader before the endpoint runs.</summary>
    public IFanOutHost? FanOutHost { get; init; }

    /// <summary>The leader's request, flight, endpoint and the headers set before it entered, for <see cref="FanOutHost"/>.</summary>
    public HttpContext? Context { get; init; }

    /// <inheritdoc cref="Context"/>
    public RequestFlight? Flight { get; init; }

    /// <inheritdoc cref="Context"/>
    public EndpointState? State { get; init; }

    /// <inheritdoc cref="Context"/>
    public KeyValuePair<string, StringValues>[]? EntryHeaders { get; init; }

    /// <summary>The body followers stream, from the first output on (when any follower waited then).</summary>
    public FlightBody? FanOut { get; private set; }

    /// <summary>Whether the body outgrew the limit (or streams), so no copy was kept.</summary>
    public bool Overflowed => _copy.Overflowed;

    /// <summary>The bytes copied so far.</summary>
    public int CopiedLength => _copy.Length;

    /// <summary>Whether the response sent a file: files are shared with followers but never memoized.</summary>
    public bool SentFile { get; private set; }

    /// <summary>Set by the endpoint filter when the handler's result is a stream or other one-shot source.</summary>
    public bool NotReplayable { get; set; }

    /// <summary>
    /// Whether the response streams (it disabled buffering, or is an event stream): it is never shared or kept,
    /// and its followers were released as soon as this was seen.
    /// </summary>
    public bool Streaming { get; private set; }

    /// <summary>The <c>Content-Encoding</c> of the copied bytes, as the inner pipeline set it.</summary>
    public StringValues ContentEncoding { get; private set; }

    /// <summary>The <c>Vary</c> header as the inner pipeline set it.</summary>
    public StringValues Vary { get; private set; }

    public Stream Stream => _stream ??= new TeeStream(original.Stream, this);

    public PipeWriter Writer => _writer ??= new TeePipeWriter(original.Writer, this);

    public void DisableBuffering()
    {
        // ASP.NET's signal that a response streams: nobody waits for it, and it is never kept.
        BecomeStreaming();
        original.DisableBuffering();
    }

    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        BeforeOutput();
        var start = original.StartAsync(cancellationToken);
        return _startPending ? AfterOutputAsync(new ValueTask(start)).AsTask() : start;
    }

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
    {
        BeforeOutput();
        SentFile = true;
        return SendFileFallback.SendFileAsync(Stream, path, offset, count, cancellationToken);
    }

    public Task CompleteAsync()
    {
        BeforeOutput();
        return original.CompleteAsync();
    }

    /// <summary>Called before any byte, flush or start leaves the inner pipeline; reads its headers the first time.</summary>
    public void BeforeOutput()
    {
        if (_outputStarted)
        {
            return;
        }

        _outputStarted = true;
        SnapshotHeaders();
        if (headers.ContentType is { Count: > 0 } contentType &&
            contentType.ToString().StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            BecomeStreaming();
        }
        else if (!Streaming && FanOutHost?.BeginFanOut(this) is { } body)
        {
            _fanOutDecided = true;
            FanOut = body;
            _startPending = true;
        }
    }

    /// <summary>
    /// After a write or flush reached the server: the first time the response has started with a body streaming to
    /// followers, tells the host (its headers are final only now: <c>OnStarting</c> callbacks have run).
    /// </summary>
    public ValueTask AfterOutput(ValueTask output) => _startPending ? AfterOutputAsync(output) : output;

    /// <inheritdoc cref="AfterOutput(ValueTask)"/>
    public ValueTask<FlushResult> AfterOutput(ValueTask<FlushResult> output) => _startPending ? AfterOutputAsync(output) : output;

    /// <inheritdoc cref="AfterOutput(ValueTask)"/>
    public void AfterOutput()
    {
        if (_startPending)
        {
            _startPending = false;
            FanOutHost!.ResponseStarted(this);
        }
    }

    /// <summary>The followers streaming the body go without it: the leader's run will not finish it.</summary>
    public void StopFanOut()
    {
        _startPending = false;
        FanOut = null;
    }

    private async ValueTask AfterOutputAsync(ValueTask output)
    {
        await output.ConfigureAwait(false);
        AfterOutput();
    }

    private async ValueTask<FlushResult> AfterOutputAsync(ValueTask<FlushResult> output)
    {
        var result = await output.ConfigureAwait(false);
        AfterOutput();
        return result;
    }

    /// <summary>For a response that ended without any output: its headers are final now.</summary>
    public void Finish()
    {
        if (!_outputStarted)
        {
            _outputStarted = true;
            SnapshotHeaders();
        }
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        if (!_fanOutDecided && Flight is { WantsBody: true } && FanOut is null)
        {
            StartFanOutLate();
        }

        _copy.Append(data);
        FanOut?.Append(data);
    }

    /// <summary>
    /// A follower joined after the first output: the body streams to it from the first byte, out of the copy kept so
    /// far, when that copy is whole (not past <c>MaxBufferedBodyBytes</c>). On the leader's thread, before its next bytes.
    /// </summary>
    private void StartFanOutLate()
    {
        _fanOutDecided = true;
        if (Streaming || _copy.Overflowed || FanOutHost?.BeginFanOut(this) is not { } body)
        {
            return;
        }

        body.Append(_copy.Written);
        FanOut = body;
        if (Context!.Response.HasStarted)
        {
            FanOutHost!.ResponseStarted(this);
        }
        else
        {
            _startPending = true;
        }
    }

    /// <summary>The copied body, in an array of its own.</summary>
    public byte[] CopyToArray() => _copy.ToArray();

    public void Dispose() => _copy.Release();

    private void SnapshotHeaders()
    {
        ContentEncoding = headers.ContentEncoding;
        Vary = headers.Vary;
    }

    private void BecomeStreaming()
    {
        if (Streaming)
        {
            return;
        }

        Streaming = true;
        _copy.Abandon();
        if (_startPending)
        {
            // No follower has its headers yet: they go their own way, as without streaming.
            FanOut!.Fail();
            StopFanOut();
        }
        else
        {
            // Followers already streaming this response were promised it and get it whole; nobody joins any more.
            FanOut?.CloseToJoiners();
        }
        onStreaming?.Invoke(streamingState ?? this);
    }
}
