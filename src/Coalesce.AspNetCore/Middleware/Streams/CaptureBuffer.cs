using System.Buffers;

namespace Coalesce.AspNetCore;

/// <summary>
/// A copy of a response body, kept up to a byte limit in pooled memory. Past the limit it lets go of what it
/// held and records only that it overflowed, so a large response costs nothing beyond the limit.
/// Not thread-safe: a response is written by one writer at a time. A mutable struct, kept as a field of its owner
/// (no object of its own per request); never copied.
/// </summary>
internal struct CaptureBuffer(long limit)
{
    private const int MinimumRent = 4096;
    private byte[]? _buffer;
    private int _length;

    public bool Overflowed { get; private set; }

    public readonly int Length => _length;

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

    /// <summary>The bytes copied so far; valid until the next append.</summary>
    public readonly ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    public readonly byte[] ToArray() => _length == 0 ? [] : _buffer.AsSpan(0, _length).ToArray();

    /// <summary>Returns the pooled memory; the copy is empty afterwards.</summary>
    public void Release()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }

        _length = 0;
    }

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
}
