namespace Coalesce.AspNetCore.Tests;

/// <summary>A handler gate: executions are counted, and each waits until the test opens the gate.</summary>
internal sealed class Gate
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _executions;

    public int Executions => Volatile.Read(ref _executions);

    public int Enter() => Interlocked.Increment(ref _executions);

    public Task WaitAsync(CancellationToken cancellationToken = default) => _open.Task.WaitAsync(cancellationToken);

    /// <summary>The body of a gated handler: counts the execution, waits until the gate opens, returns the execution's number.</summary>
    public async Task<int> EnterAndWaitAsync(CancellationToken cancellationToken = default)
    {
        var run = Enter();
        await WaitAsync(cancellationToken);
        return run;
    }

    public void Open() => _open.TrySetResult();

    public Task WaitForExecutionsAsync(int count) => TestApp.WaitUntilAsync(() => Executions >= count, $"{count} executions");
}
