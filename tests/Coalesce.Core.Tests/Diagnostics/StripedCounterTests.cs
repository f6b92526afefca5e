namespace Coalesce.Tests.Diagnostics;

public sealed class StripedCounterTests
{
    [Fact]
    public void Counts_from_many_threads_at_once_add_up_and_reset_to_zero()
    {
        const int Threads = 16;
        const int PerThread = 20_000;
        var counter = new StripedCounter();
        using var start = new Barrier(Threads);

        // More threads than cores, so each core's cell is written by several threads, and every cell by someone.
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < PerThread; i++)
            {
                counter.Increment();
                if (t % 2 == 0 && i % 4 == 0)
                {
                    counter.Decrement();
                }
            }
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        Assert.Equal((Threads * PerThread) - (Threads / 2 * (PerThread / 4)), counter.Value);

        counter.Reset();
        Assert.Equal(0, counter.Value);
        counter.Decrement();
        Assert.Equal(-1, counter.Value);
    }
}
