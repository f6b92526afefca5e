namespace Coalesce.AspNetCore;

/// <summary>A keyed request running now: its fingerprint, and how it ended for the duplicates that wait for it.</summary>
internal sealed class IdempotencyClaim(byte[] fingerprint)
{
    private readonly TaskCompletionSource<CapturedResponse?> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public byte[] Fingerprint { get; } = fingerprint;

    /// <summary>The kept response, or <see langword="null"/> when the outcome was not kept (the key is free again).</summary>
    public Task<CapturedResponse?> Done => _done.Task;

    public bool Matches(byte[] fingerprint) => Fingerprint.AsSpan().SequenceEqual(fingerprint);

    public void Complete(CapturedResponse? kept) => _done.TrySetResult(kept);
}
