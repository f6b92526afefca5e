namespace Coalesce.AspNetCore;

/// <summary>
/// A leader's response body as it is written, shared by the followers that stream it: one append-only buffer of
/// segments the leader fills and every follower reads at its own pace (no copy per follower; a slow follower never
/// holds the leader or another follower back). It keeps the whole body up to a bound, so a follower that attaches late
/// reads from the first byte; past the bound it takes no new followers and keeps only the last
/// <c>lag</c> bytes, and a follower that falls further behind than that is told so and ends its response as failed.
/// </summary>
/// <remarks>
/// One writer (the leader's pipeline), any number of readers. Segments are plain arrays, never pooled: a reader may
/// still copy from a segment the buffer has let go of, which the garbage collector makes safe.
/// </remarks>
internal sealed class FlightBody
{
    internal const int SegmentSize = 16 * 1024;

    private readonly object _gate = new();
    private readonly List<byte[]?> _segments = [];
    private readonly long _joinBound;
    private readonly long _lag;
    private long _length;
    private long _retainedFrom;
    private bool _closedToJoiners;
    private State _state;
    private TaskCompletionSource? _progress;

    /// <param name="joinBound">How much of the body is kept from the first byte; past it, no follower attaches.</param>
    /// <param name="lag">Past <paramref name="joinBound"/>, how far behind the leader a follower may fall.</param>
    public FlightBody(long joinBound, long lag)
    {
        _joinBound = joinBound;
        _lag = lag;
    }

    private enum State
    {
        Open,
        Completed,
        Failed,
    }

    /// <summary>What a read found.</summary>
    internal enum ReadStatus
    {
        /// <summary>Bytes from the position asked for.</summary>
        Data,

        /// <summary>The leader finished and every byte has been read.</summary>
        Completed,

        /// <summary>The leader's run failed or its client went away: the body will never be whole.</summary>
        Failed,

        /// <summary>The reader fell more than the allowed lag behind, and the bytes it needs are gone.</summary>
        FellBehind,
    }

    /// <summary>
    /// The leader's status and headers (its body empty), as each follower's answer starts; set once the leader's
    /// response has started, before any follower attaches.
    /// </summary>
    public CapturedResponse? Head { get; set; }

    /// <summary>
    /// The inputs the leader's response was computed from at its end (it may read more after its headers went out):
    /// a follower whose values differ must not complete its response. Set before <see cref="Complete"/>.
    /// </summary>
    public ObservedInputs? FinalInputs { get; private set; }

    /// <summary>The bytes the leader has written so far.</summary>
    public long Length => Volatile.Read(ref _length);

    /// <summary>
    /// Attaches a follower, reading from the first byte. One that was already waiting when the body started attaches
    /// while the first byte is still kept (its wake-up may come after the leader wrote past the bound); one that joins
    /// later attaches only while the body is within what is kept from its start. <see langword="false"/> otherwise, or
    /// when the body failed or was closed to joiners: the follower runs its own request, never a response with a gap.
    /// </summary>
    /// <param name="waitedForStart">Whether the follower was waiting for the body when it started.</param>
    public bool TryAttach(bool waitedForStart = false)
    {
        lock (_gate)
        {
            return _state != State.Failed && _retainedFrom == 0 && (waitedForStart || (!_closedToJoiners && _length <= _joinBound));
        }
    }

    /// <summary>Appends bytes the leader wrote. Called by the leader's pipeline only.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        TaskCompletionSource? progress;
        lock (_gate)
        {
            if (_state != State.Open)
            {
                return;
            }

            while (!data.IsEmpty)
            {
                var offset = (int)(_length % SegmentSize);
                if (offset == 0)
                {
                    _segments.Add(new byte[SegmentSize]);
                }

                var segment = _segments[^1]!;
                var count = Math.Min(data.Length, SegmentSize - offset);
                data[..count].CopyTo(segment.AsSpan(offset));
                data = data[count..];
                _length += count;
            }

            // Past the bound, what no reader may still need goes: whole segments more than the lag behind.
            if (_length > _joinBound)
            {
                var keepFrom = Math.Max(0, _length - _lag) / SegmentSize * SegmentSize;
                for (var at = _retainedFrom; at < keepFrom; at += SegmentSize)
                {
                    _segments[(int)(at / SegmentSize)] = null;
                }

                _retainedFrom = Math.Max(_retainedFrom, keepFrom);
            }

            progress = _progress;
            _progress = null;
        }

        progress?.TrySetResult();
    }

    /// <summary>No follower attaches from now on; those attached go on.</summary>
    public void CloseToJoiners()
    {
        lock (_gate)
        {
            _closedToJoiners = true;
        }
    }

    /// <summary>The leader's response ended whole, computed from <paramref name="finalInputs"/>.</summary>
    public void Complete(ObservedInputs? finalInputs) => End(State.Completed, finalInputs);

    /// <summary>The leader's response will never be whole: every follower streaming it ends as failed.</summary>
    public void Fail() => End(State.Failed, null);

    /// <summary>
    /// The bytes from <paramref name="position"/> on that are there now (at most one segment's worth), waiting until
    /// there are some or the body ends. Bytes from <paramref name="holdBackFrom"/> on are given only once the body has
    /// ended whole: a follower whose response announces a <c>Content-Length</c> holds back its last byte, so when the
    /// response must fail after all (the leader failed, or read an input this follower has another value of) its client
    /// never got what looks like a whole response. (A chunked response needs no such hold: without its final chunk,
    /// the client knows it was cut.)
    /// </summary>
    public async ValueTask<(ReadStatus Status, ReadOnlyMemory<byte> Data)> ReadAsync(long position, long holdBackFrom, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_state == State.Failed)
                {
                    return (ReadStatus.Failed, default);
                }

                if (position < _retainedFrom)
                {
                    return (ReadStatus.FellBehind, default);
                }

                var readable = _state == State.Completed ? _length : Math.Min(_length, holdBackFrom);
                if (position < readable)
                {
                    var segment = _segments[(int)(position / SegmentSize)]!;
                    var offset = (int)(position % SegmentSize);
                    var count = (int)Math.Min(SegmentSize - offset, readable - position);
                    return (ReadStatus.Data, segment.AsMemory(offset, count));
                }

                if (_state == State.Completed)
                {
                    return (ReadStatus.Completed, default);
                }

                wait = (_progress ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void End(State state, ObservedInputs? finalInputs)
    {
        TaskCompletionSource? progress;
        lock (_gate)
        {
            if (_state != State.Open)
            {
                return;
            }

            FinalInputs = finalInputs;
            _state = state;
            progress = _progress;
            _progress = null;
        }

        progress?.TrySetResult();
    }
}
