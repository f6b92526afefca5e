using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Coalesce.AspNetCore.Tests.Diagnostics.Browser;

/// <summary>
/// The Chrome DevTools Protocol over one page's WebSocket (System.Net.WebSockets, no browser-automation package):
/// commands with their answers, and the page's errors as a person would see them in its console: console.error and
/// console.assert calls, uncaught exceptions, and the browser's own error entries (a refused script, a blocked
/// Content-Security-Policy violation, a failed load).
/// </summary>
internal sealed class CdpSession : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _awaitedEvents = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _closing = new();
    private readonly SemaphoreSlim _sending = new(1, 1);
    private Task _receiving = Task.CompletedTask;
    private int _nextId;

    /// <summary>What the page reported as errors so far.</summary>
    public IReadOnlyCollection<string> Errors => _errors;

    public static async Task<CdpSession> ConnectAsync(Uri page, CancellationToken cancellationToken)
    {
        var session = new CdpSession();
        try
        {
            await session._socket.ConnectAsync(page, cancellationToken);
            session._receiving = Task.Run(session.ReceiveAsync, CancellationToken.None);
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends a command and returns its result; a protocol error throws with the browser's message.</summary>
    public async Task<JsonElement> SendAsync(string method, JsonObject? parameters, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? [] };
        await _sending.WaitAsync(cancellationToken);
        try
        {
            await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        }
        finally
        {
            _sending.Release();
        }

        using var registration = cancellationToken.Register(() => answer.TrySetCanceled(cancellationToken));
        return await answer.Task;
    }

    /// <summary>
    /// A task that completes at the next event named <paramref name="method"/> (such as <c>Page.loadEventFired</c>); ask
    /// for it before sending the command that causes the event.
    /// </summary>
    public Task NextEventAsync(string method) =>
        _awaitedEvents.GetOrAdd(method, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>
    /// Evaluates <paramref name="expression"/> in the page, awaiting it when it is a promise, and returns its value as JSON.
    /// An exception in the page throws here.
    /// </summary>
    public async Task<JsonElement> EvaluateAsync(string expression, CancellationToken cancellationToken)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject
        {
            ["expression"] = expression,
            ["awaitPromise"] = true,
            ["returnByValue"] = true,
        }, cancellationToken);
        if (result.TryGetProperty("exceptionDetails", out var exception))
        {
            throw new InvalidOperationException($"The page threw: {exception}");
        }

        return result.GetProperty("result").TryGetProperty("value", out var value) ? value.Clone() : default;
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        _socket.Abort();
        try
        {
            await _receiving;
        }
        catch (OperationCanceledException)
        {
        }
        catch (WebSocketException)
        {
        }

        _socket.Dispose();
        _closing.Dispose();
        _sending.Dispose();
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (!_closing.IsCancellationRequested && _socket.State == WebSocketState.Open)
        {
            var received = await _socket.ReceiveAsync(buffer, _closing.Token);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                break;
            }

            message.Write(buffer, 0, received.Count);
            if (!received.EndOfMessage)
            {
                continue;
            }

            Dispatch(message.ToArray());
            message.SetLength(0);
        }

        foreach (var (_, pending) in _pending)
        {
            pending.TrySetException(new WebSocketException("The DevTools connection closed."));
        }
    }

    private void Dispatch(byte[] json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.TryGetProperty("id", out var id))
        {
            if (_pending.TryRemove(id.GetInt32(), out var answer))
            {
                if (root.TryGetProperty("error", out var error))
                {
                    answer.TrySetException(new InvalidOperationException($"DevTools refused the command: {error}"));
                }
                else
                {
                    answer.TrySetResult(root.GetProperty("result").Clone());
                }
            }

            return;
        }

        var parameters = root.TryGetProperty("params", out var p) ? p : default;
        var method = root.GetProperty("method").GetString()!;
        if (_awaitedEvents.TryRemove(method, out var awaited))
        {
            awaited.TrySetResult();
        }

        switch (method)
        {
            case "Runtime.consoleAPICalled" when parameters.GetProperty("type").GetString() is "error" or "assert":
                _errors.Enqueue("console." + parameters.GetProperty("type").GetString() + ": " +
                    string.Join(" ", parameters.GetProperty("args").EnumerateArray().Select(a => a.TryGetProperty("value", out var v) ? v.ToString() : a.ToString())));
                break;
            case "Runtime.exceptionThrown":
                _errors.Enqueue("exception: " + parameters.GetProperty("exceptionDetails"));
                break;
            case "Log.entryAdded" when parameters.GetProperty("entry").GetProperty("level").GetString() == "error":
                var entry = parameters.GetProperty("entry");
                _errors.Enqueue($"log ({entry.GetProperty("source").GetString()}): {entry.GetProperty("text").GetString()} {(entry.TryGetProperty("url", out var url) ? url.GetString() : "")}");
                break;
        }
    }
}
