using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>A bare RESP client on one connection, for checking the proxy (one-line replies only).</summary>
internal sealed class RawClient : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;

    private RawClient(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    public static async Task<RawClient> ConnectAsync(int port)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(5));
        return new RawClient(client);
    }

    /// <summary>Sends one command and reads one reply line; throws when the connection closes first.</summary>
    public async Task<string> CommandAsync(string command)
    {
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"));
        var buffer = new byte[4096];
        var read = await _stream.ReadAsync(buffer);
        if (read == 0)
        {
            throw new IOException("The connection closed.");
        }

        return Encoding.ASCII.GetString(buffer, 0, read).TrimEnd('\r', '\n');
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
