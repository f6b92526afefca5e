using System.Buffers;

namespace Coalesce.AspNetCore;

/// <summary>
/// A copy of a response body, kept up to a byte limit in pooled memory. Past the limit it lets go of what it
/// held and records only that it overflowed, so a large response costs nothing beyond the limit.
/// Not thread-safe: a response is written by one writer at a time.
/// </summary>
internal sealed class CaptureBuffer(long limit) : IDisposable
{
    private const int MinimumRent = 4096;
    private byte[]? _buffer;
    private int _length;

    public bool Overflowed { get; private set; }

    public int Length => _length;

    public void Append(ReadOnlySpan<byte> data)
    {
        if (Overflowed || data.IsEmpty)
        {
            return;
        }

        if (_length + (long)data.Length > limit)
        {
            Overflowed = true;
            Release();
            return;
        }

        var needed = _length + data.Length;
        if (_buffer is null || _buffer.Length < needed)
        {
            Grow(needed);
        }

        data.CopyTo(_buffer.AsSpan(_length));
        _length = needed;
    }

    /// <summary>Stops copying for good and lets go of what was held, as an overflow would.</summary>
    public void Abandon()
    {
        Overflowed = true;
        Release();
    }

    public byte[] ToArray() => _length == 0 ? [] : _buffer.AsSpan(0, _length).ToArray();

    public void Dispose() => Release();

    private void Grow(int needed)
    {
        var size = (int)Math.Min(Math.Max(needed, Math.Max(MinimumRent, (_buffer?.Length ?? 0) * 2L)), Math.Max(limit, needed));
        var next = ArrayPool<byte>.Shared.Rent(size);
        if (_buffer is not null)
        {
            _buffer.AsSpan(0, _length).CopyTo(next);
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = next;
    }

    private void Release()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }

        _length = 0;
    }
}
