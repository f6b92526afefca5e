namespace Coalesce.AspNetCore.Tests.Middleware.Streams;

/// <summary>The shared buffer followers stream a leader's body from: one writer, many readers at their own pace.</summary>
public sealed class FlightBodyTests
{
    [Fact]
    public async Task Bytes_from_the_hold_back_position_wait_until_the_body_ends_whole()
    {
        var body = new FlightBody(joinBound: 1 << 20, lag: 1 << 20);
        body.Append("abc"u8);

        var first = await body.ReadAsync(0, holdBackFrom: 2, CancellationToken.None);
        Assert.Equal(FlightBody.ReadStatus.Data, first.Status);
        Assert.Equal("ab"u8.ToArray(), first.Data.ToArray());
        Assert.Equal("abc"u8.ToArray(), (await body.ReadAsync(0, long.MaxValue, CancellationToken.None)).Data.ToArray());   // chunked: no hold

        var last = body.ReadAsync(2, holdBackFrom: 2, CancellationToken.None).AsTask();
        Assert.False(last.IsCompleted);                                 // 'c' may yet turn out to be the end of a failed body
        body.Complete(finalInputs: null);
        var (status, data) = await last.WaitAsync(TestApp.Patience);
        Assert.Equal(FlightBody.ReadStatus.Data, status);
        Assert.Equal("c"u8.ToArray(), data.ToArray());
        Assert.Equal(FlightBody.ReadStatus.Completed, (await body.ReadAsync(3, 2, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_failed_body_ends_every_reader_as_failed_and_takes_no_new_one()
    {
        var body = new FlightBody(joinBound: 1 << 20, lag: 1 << 20);
        Assert.True(body.TryAttach());
        body.Append("abc"u8);
        var waiting = body.ReadAsync(3, long.MaxValue, CancellationToken.None).AsTask();

        body.Fail();

        Assert.Equal(FlightBody.ReadStatus.Failed, (await waiting.WaitAsync(TestApp.Patience)).Status);
        Assert.Equal(FlightBody.ReadStatus.Failed, (await body.ReadAsync(0, long.MaxValue, CancellationToken.None)).Status);
        Assert.False(body.TryAttach());
    }

    [Fact]
    public async Task Past_its_bound_it_takes_no_new_reader_and_a_reader_further_behind_than_the_lag_fell_behind()
    {
        const int Segment = FlightBody.SegmentSize;
        var body = new FlightBody(joinBound: 2 * Segment, lag: Segment);
        Assert.True(body.TryAttach());
        body.Append(new byte[2 * Segment]);
        Assert.True(body.TryAttach());                                  // at the bound: still read whole from the start

        body.Append(new byte[2 * Segment]);                             // 4 segments written; only the last lag's worth kept

        Assert.False(body.TryAttach());
        Assert.Equal(FlightBody.ReadStatus.FellBehind, (await body.ReadAsync(0, long.MaxValue, CancellationToken.None)).Status);
        var near = await body.ReadAsync(3 * Segment, 4L * Segment - 1, CancellationToken.None);
        Assert.Equal(FlightBody.ReadStatus.Data, near.Status);
        Assert.Equal(Segment - 1, near.Data.Length);                    // the last byte held back
    }

    [Fact]
    public void A_follower_that_was_waiting_when_the_body_started_attaches_past_the_bound_while_the_first_byte_is_kept()
    {
        const int Segment = FlightBody.SegmentSize;
        var body = new FlightBody(joinBound: Segment, lag: 4 * Segment);
        body.Append(new byte[3 * Segment]);                             // past the bound, nothing dropped yet

        Assert.False(body.TryAttach());                                 // a newcomer: too late to read it whole
        Assert.True(body.TryAttach(waitedForStart: true));              // it was waiting: the first byte is still here

        body.Append(new byte[3 * Segment]);                             // now the first segments are gone
        Assert.False(body.TryAttach(waitedForStart: true));
    }

    [Fact]
    public async Task Hundreds_of_readers_at_their_own_pace_each_read_exactly_the_bytes_written()
    {
        var body = new FlightBody(joinBound: 1 << 22, lag: 1 << 22);
        var expected = new byte[300_000];
        new Random(7).NextBytes(expected);
        var readers = Enumerable.Range(0, 200).Select(i =>
        {
            Assert.True(body.TryAttach());
            return Task.Run(async () =>
            {
                var read = new MemoryStream();
                long position = 0;
                while (true)
                {
                    var (status, data) = await body.ReadAsync(position, long.MaxValue, CancellationToken.None);
                    if (status != FlightBody.ReadStatus.Data)
                    {
                        Assert.Equal(FlightBody.ReadStatus.Completed, status);
                        return read.ToArray();
                    }

                    read.Write(data.Span);
                    position += data.Length;
                    if (i % 7 == 0)
                    {
                        await Task.Yield();                              // some readers slower than others
                    }
                }
            });
        }).ToArray();

        var random = new Random(11);
        for (var at = 0; at < expected.Length;)
        {
            var count = Math.Min(random.Next(1, 40_000), expected.Length - at);
            body.Append(expected.AsSpan(at, count));
            at += count;
            if (random.Next(4) == 0)
            {
                await Task.Yield();
            }
        }

        body.Complete(finalInputs: null);
        foreach (var bytes in await Task.WhenAll(readers).WaitAsync(TestApp.Patience))
        {
            Assert.Equal(expected, bytes);
        }
    }
}
