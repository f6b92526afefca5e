using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// A TCP proxy of a test's own on a free 127.0.0.1 port, between one app instance and redis-server, whose faults are
/// switched at run time: latency per direction, a stall (bytes held, none lost, until <see cref="Release"/>), a
/// blackhole (bytes dropped, connections left open), resets (every connection closed with RST), refusing new
/// connections, and retargeting (a failover). Use with <c>await using</c>: it stops listening and closes every
/// connection, also when the test fails.
/// </summary>
internal sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Link> _links = [];
    private readonly Task _accepting;
    private volatile TaskCompletionSource _flowing = Completed();
    private int _targetPort;
    private long _upstreamTicks;
    private long _downstreamTicks;
    private volatile bool _blackhole;
    private volatile bool _refuse;
    private long _held;
    private long _dropped;

    private FaultProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>A StackExchange.Redis configuration string that goes through this proxy.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Added to every byte from the instance to Redis.</summary>
    public TimeSpan UpstreamLatency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _upstreamTicks));
        set => Interlocked.Exchange(ref _upstreamTicks, value.Ticks);
    }

    /// <summary>Added to every byte from Redis to the instance.</summary>
    public TimeSpan DownstreamLatency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _downstreamTicks));
        set => Interlocked.Exchange(ref _downstreamTicks, value.Ticks);
    }

    /// <summary>
    /// Drops every byte either way while set; connections stay open, new ones are accepted (and hear nothing). A byte
    /// stream that lost bytes can't go on (TCP would have given up on it), so ending the blackhole resets every
    /// connection open now: the instance reconnects, as after a partition.
    /// </summary>
    public bool Blackhole
    {
        get => _blackhole;
        set
        {
            var ending = _blackhole && !value;
            _blackhole = value;
            if (ending)
            {
                ResetAll();
            }
        }
    }

    /// <summary>New connections are closed at once (as a refused connect) while set.</summary>
    public bool RefuseNew
    {
        get => _refuse;
        set => _refuse = value;
    }

    /// <summary>How many connections are open through the proxy now.</summary>
    /// <summary>Chunks that reached a stall and wait for <see cref="Release"/> (so the other side has not got them).</summary>
    public long HeldChunks => Interlocked.Read(ref _held);

    /// <summary>Bytes a blackhole dropped (so the other side never got them).</summary>
    public long DroppedBytes => Interlocked.Read(ref _dropped);

    public int OpenConnections
    {
        get
        {
            lock (_links)
            {
                return _links.Count;
            }
        }
    }

    public static FaultProxy Start(int targetPort) => new(targetPort);

    /// <summary>Both directions hold every byte (in order, none lost) until <see cref="Release"/>.</summary>
    public void Stall()
    {
        if (_flowing.Task.IsCompleted)
        {
            _flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Ends a <see cref="Stall"/>: what was held goes on, in order.</summary>
    public void Release() => _flowing.TrySetResult();

    /// <summary>Sets the latency of both directions.</summary>
    public void AddLatency(TimeSpan eachWay) => (UpstreamLatency, DownstreamLatency) = (eachWay, eachWay);

    /// <summary>Clears every fault (latency, stall, blackhole, refusal); connections stay as they are.</summary>
    public void Heal()
    {
        AddLatency(TimeSpan.Zero);
        (Blackhole, RefuseNew) = (false, false);
        Release();
    }

    /// <summary>Closes every open connection with a TCP reset; the instance sees its connection fail.</summary>
    public void ResetAll()
    {
        Link[] links;
        lock (_links)
        {
            links = [.. _links];
            _links.Clear();
        }

        foreach (var link in links)
        {
            link.Reset();
        }
    }

    /// <summary>Sends new connections to another server (a failover); existing ones stay until reset.</summary>
    public void Retarget(int targetPort) => Volatile.Write(ref _targetPort, targetPort);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        Release();
        ResetAll();
        try
        {
            await _accepting.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or TimeoutException)
        {
        }

        _stopping.Dispose();
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
        return done;
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            if (_refuse)
            {
                Link.Abort(client);
                continue;
            }

            _ = ConnectAsync(client);
        }
    }

    private async Task ConnectAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, Volatile.Read(ref _targetPort), _stopping.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            Link.Abort(client);
            Link.Abort(server);
            return;
        }

        client.NoDelay = true;
        var link = new Link(client, server);
        lock (_links)
        {
            _links.Add(link);
        }

        await Task.WhenAll(
            PumpAsync(link, client, server, () => UpstreamLatency),
            PumpAsync(link, server, client, () => DownstreamLatency));
        lock (_links)
        {
            _links.Remove(link);
        }

        link.Dispose();
    }

    /// <summary>One direction: a reader stamps each chunk with when it may leave, a writer sends it then (in order).</summary>
    private async Task PumpAsync(Link link, Socket from, Socket to, Func<TimeSpan> latency)
    {
        var chunks = Channel.CreateUnbounded<(long Due, byte[] Bytes)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var writing = WriteAsync(link, to, chunks.Reader);
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, link.Closing);
                if (read == 0)
                {
                    break;
                }

                if (_blackhole)
                {
                    Interlocked.Add(ref _dropped, read);
                    continue;
                }

                chunks.Writer.TryWrite((Stopwatch.GetTimestamp() + (long)(latency().TotalSeconds * Stopwatch.Frequency), buffer[..read]));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        chunks.Writer.TryComplete();
        await writing;
        link.Reset();
    }

    private async Task WriteAsync(Link link, Socket to, ChannelReader<(long Due, byte[] Bytes)> chunks)
    {
        try
        {
            await foreach (var (due, bytes) in chunks.ReadAllAsync(link.Closing))
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, link.Closing);
                }

                var flowing = _flowing.Task;
                if (!flowing.IsCompleted)
                {
                    Interlocked.Increment(ref _held);
                }

                await flowing.WaitAsync(link.Closing);
                if (!_blackhole)
                {
                    await to.SendAsync(bytes, SocketFlags.None, link.Closing);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>One proxied connection: the instance's socket and Redis's.</summary>
    private sealed class Link(Socket client, Socket server) : IDisposable
    {
        private readonly CancellationTokenSource _closing = new();
        private int _reset;

        public CancellationToken Closing => _closing.Token;

        public static void Abort(Socket socket)
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }

        /// <summary>Closes both sockets with RST. Idempotent.</summary>
        public void Reset()
        {
            if (Interlocked.Exchange(ref _reset, 1) == 1)
            {
                return;
            }

            _closing.Cancel();
            Abort(client);
            Abort(server);
        }

        /// <summary>Resets, then frees the token; only once both pumps have ended.</summary>
        public void Dispose()
        {
            Reset();
            _closing.Dispose();
        }
    }
}
