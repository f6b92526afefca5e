namespace Coalesce;

/// <summary>
/// A counter spread over cache-line-padded cells chosen by processor, so threads counting at once on different
/// cores do not contend for one cache line. Reading sums the cells.
/// </summary>
internal sealed class StripedCounter
{
    // 16 longs = 128 bytes: a cell never shares a cache line (or an adjacent-line prefetch pair) with another.
    private const int Stride = 16;
    private readonly long[] _cells;
    private readonly int _mask;

    public StripedCounter()
    {
        var cells = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Min(Environment.ProcessorCount, 64));
        _mask = cells - 1;
        _cells = new long[cells * Stride];
    }

    public long Value
    {
        get
        {
            long sum = 0;
            for (var i = 0; i < _cells.Length; i += Stride)
            {
                sum += Volatile.Read(ref _cells[i]);
            }

            return sum;
        }
    }

    public void Increment() => Interlocked.Increment(ref _cells[(Thread.GetCurrentProcessorId() & _mask) * Stride]);

    public void Decrement() => Interlocked.Decrement(ref _cells[(Thread.GetCurrentProcessorId() & _mask) * Stride]);

    public void Reset()
    {
        for (var i = 0; i < _cells.Length; i += Stride)
        {
            Interlocked.Exchange(ref _cells[i], 0);
        }
    }
}
