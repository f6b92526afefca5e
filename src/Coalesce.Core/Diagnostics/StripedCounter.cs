namespace Coalesce;

/// <summary>
/// A counter spread over cache-line-padded cells chosen by processor, so threads counting at once on different
/// cores do not contend for one cache line. Reading sums the cells.
/// </summary>
internal sealed class StripedCounter
{
    // 16 longs = 128 bytes: a cell never shares a cache line (or an adjacent-line prefetch pair) with another. Nor
    // with the array's header, which every increment reads (its length, for the bounds check), nor with whatever the
    // heap placed before the array (this object's own fields, read on every increment): the cells start one stride
    // in and end one stride before the array does. Without that gap, the first cell's core invalidated the line the
    // other cores read to find their own cell.
    private const int Stride = 16;
    private readonly long[] _cells;
    private readonly int _mask;

    public StripedCounter()
    {
        var cells = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Min(Environment.ProcessorCount, 64));
        _mask = cells - 1;
        _cells = new long[(cells + 2) * Stride];
    }

    public long Value
    {
        get
        {
            long sum = 0;
            for (var i = Stride; i < _cells.Length - Stride; i += Stride)
            {
                sum += Volatile.Read(ref _cells[i]);
            }

            return sum;
        }
    }

    public void Increment() => Interlocked.Increment(ref _cells[Cell()]);

    public void Decrement() => Interlocked.Decrement(ref _cells[Cell()]);

    public void Reset()
    {
        for (var i = Stride; i < _cells.Length - Stride; i += Stride)
        {
            Interlocked.Exchange(ref _cells[i], 0);
        }
    }

    private int Cell() => ((Thread.GetCurrentProcessorId() & _mask) + 1) * Stride;
}
