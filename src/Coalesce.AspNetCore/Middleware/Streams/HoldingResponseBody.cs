using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Coalesce.AspNetCore;

/// <summary>
/// Holds a leader's response back from its client until the endpoint has finished, so that a failure (an
/// exception or a 5xx) can still be replaced by a stale response: nothing reaches the client, and the response
/// has not started, until <see cref="CommitAsync"/>. Used only when a stale response could stand in for an error.
/// </summary>
/// <remarks>
/// Holding is bounded: a body larger than the limit, a response that turns off buffering (it streams) or an explicit
/// start of the response lets go — what was held is written to the client and the rest passes straight through,
/// and such a response can no longer be replaced.
/// </remarks>
internal sealed class HoldingResponseBody(IHttpResponseBodyFeature client, long limit) : IHttpResponseBodyFeature, IDisposable
{
    private readonly IHttpResponseBodyFeature _client = client;
    private readonly ArrayBufferWriter<byte> _held = new();
    private HoldingStream? _stream;
    private PipeWriter? _writer;
    private bool _completeRequested;

    /// <summary>Whether the response has been let go to the client (and can no longer be replaced).</summary>
    public bool Released { get; private set; }

    public Stream Stream => _stream ??= new HoldingStream(this);

    public PipeWriter Writer => _writer ??= PipeWriter.Create(Stream, new StreamPipeWriterOptions(leaveOpen: true));

    public void DisableBuffering()
    {
        // A response that streams wants its client to see each piece as it is written (what was held goes out
        // before its next write).
        Released = true;
        _client.DisableBuffering();
    }

    public Task StartAsync(CancellationToken cancellationToken = default) =>
        Released ? _client.StartAsync(cancellationToken) : Task.CompletedTask;

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
        SendFileFallback.SendFileAsync(Stream, path, offset, count, cancellationToken);

    public async Task CompleteAsync()
    {
        if (_writer is not null)
        {
            await _writer.FlushAsync().ConfigureAwait(false);
        }

        if (Released)
        {
            await WritePendingAsync(CancellationToken.None).ConfigureAwait(false);
            await _client.CompleteAsync().ConfigureAwait(false);
        }
        else
        {
            _completeRequested = true;
        }
    }

    /// <summary>Sends what was held to the client: the endpoint's response stands.</summary>
    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        if (_writer is not null)
        {
            await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        Released = true;
        await WritePendingAsync(cancellationToken).ConfigureAwait(false);
        if (_completeRequested)
        {
            await _client.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Drops what was held: the response is replaced.</summary>
    public void Discard() => _held.Clear();

    public void Dispose() => _held.Clear();

    /// <summary>Bytes held before the response was let go are written before anything after it.</summary>
    private void WritePending()
    {
        if (_held.WrittenCount > 0)
        {
            _client.Stream.Write(_held.WrittenSpan);
            _held.Clear();
        }
    }

    private async ValueTask WritePendingAsync(CancellationToken cancellationToken)
    {
        if (_held.WrittenCount > 0)
        {
            await _client.Stream.WriteAsync(_held.WrittenMemory, cancellationToken).ConfigureAwait(false);
            _held.Clear();
        }
    }

    private bool TryHold(ReadOnlySpan<byte> data)
    {
        if (Released || _held.WrittenCount + (long)data.Length > limit)
        {
            return false;
        }

        _held.Write(data);
        return true;
    }

    private sealed class HoldingStream(HoldingResponseBody body) : WriteOnlyStream
    {
        public override void Flush()
        {
            if (body.Released)
            {
                body.WritePending();
                body._client.Stream.Flush();
            }
        }

        public override Task FlushAsync(CancellationToken cancellationToken) =>
            body.Released ? FlushReleasedAsync(cancellationToken) : Task.CompletedTask;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (!body.TryHold(buffer))
            {
                // The app writes synchronously, so the server allows it; held bytes go first.
                body.Released = true;
                body.WritePending();
                body._client.Stream.Write(buffer);
            }
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            body.TryHold(buffer.Span) ? ValueTask.CompletedTask : ReleaseAndWriteAsync(buffer, cancellationToken);

        private async ValueTask ReleaseAndWriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
        {
            body.Released = true;
            await body.WritePendingAsync(cancellationToken).ConfigureAwait(false);
            await body._client.Stream.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        private async Task FlushReleasedAsync(CancellationToken cancellationToken)
        {
            await body.WritePendingAsync(cancellationToken).ConfigureAwait(false);
            await body._client.Stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
