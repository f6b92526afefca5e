namespace Coalesce.AspNetCore;

/// <summary>The response stream the leader writes to: every byte goes to its client and into the capture.</summary>
internal sealed class TeeStream(Stream inner, ResponseCapture capture) : WriteOnlyStream
{
    public override void Flush()
    {
        capture.BeforeOutput();
        inner.Flush();
        capture.AfterOutput();
    }

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        capture.BeforeOutput();
        return capture.AfterOutput(new ValueTask(inner.FlushAsync(cancellationToken))).AsTask();
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        // The server decides whether synchronous writes are allowed; capture only what it accepted.
        capture.BeforeOutput();
        inner.Write(buffer);
        capture.Append(buffer);
        capture.AfterOutput();
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        capture.BeforeOutput();
        capture.Append(buffer.Span);
        return capture.AfterOutput(inner.WriteAsync(buffer, cancellationToken));
    }
}
