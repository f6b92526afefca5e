namespace Coalesce.AspNetCore;

/// <summary>The response stream the leader writes to: every byte goes to its client and into the capture.</summary>
internal sealed class TeeStream(Stream inner, ResponseCapture capture) : WriteOnlyStream
{
    public override void Flush()
    {
        capture.BeforeOutput();
        inner.Flush();
    }

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        capture.BeforeOutput();
        return inner.FlushAsync(cancellationToken);
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        // The server decides whether synchronous writes are allowed; capture only what it accepted.
        capture.BeforeOutput();
        inner.Write(buffer);
        capture.Append(buffer);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        capture.BeforeOutput();
        capture.Append(buffer.Span);
        return inner.WriteAsync(buffer, cancellationToken);
    }
}
