namespace Coalesce.AspNetCore;

/// <summary>
/// A keyed request on this instance that holds its key here: its fingerprint, whether it is the key's holder across
/// instances too (<see cref="IsConfirmed"/>), and how it ended, for the duplicates that wait for it.
/// </summary>
/// <remarks>
/// With a scale-out package a claim is first only this instance's, while it asks the other instances; it is then not
/// yet the key's holder, and a duplicate is judged against it (409, 422, waiting) only once it is confirmed: until then
/// the duplicate waits for <see cref="Decided"/>, one round trip to the shared store at most.
/// </remarks>
internal sealed class IdempotencyClaim(byte[] fingerprint)
{
    private readonly TaskCompletionSource<CapturedResponse?> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _decided = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _confirmed;

    public byte[] Fingerprint { get; } = fingerprint;

    /// <summary>Whether this request runs the endpoint for the key (it holds the key across instances, or there are none).</summary>
    public bool IsConfirmed => _confirmed;

    /// <summary>Completes when the claim is confirmed or released.</summary>
    public Task Decided => _decided.Task;

    /// <summary>The kept response, or <see langword="null"/> when the outcome was not kept (the key is free again).</summary>
    public Task<CapturedResponse?> Done => _done.Task;

    public bool Matches(byte[] fingerprint) => Fingerprint.AsSpan().SequenceEqual(fingerprint);

    public void Confirm()
    {
        _confirmed = true;
        _decided.TrySetResult();
    }

    public void Complete(CapturedResponse? kept)
    {
        _done.TrySetResult(kept);
        _decided.TrySetResult();
    }
}
