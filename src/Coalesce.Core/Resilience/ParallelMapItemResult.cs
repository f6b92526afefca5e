namespace Coalesce;

/// <summary>The outcome of one item of a <see cref="ParallelMap"/> run.</summary>
/// <typeparam name="TIn">The item type.</typeparam>
/// <typeparam name="TOut">The result type.</typeparam>
public sealed class ParallelMapItemResult<TIn, TOut>
{
    internal ParallelMapItemResult(int index, TIn item, TOut? value, Exception? error)
    {
        Index = index;
        Item = item;
        Value = value;
        Error = error;
    }

    /// <summary>The item's position in the input.</summary>
    public int Index { get; }

    /// <summary>The input item.</summary>
    public TIn Item { get; }

    /// <summary>Whether the function returned a value for the item.</summary>
    public bool Succeeded => Error is null;

    /// <summary>The function's result; <see langword="default"/> when the item failed.</summary>
    public TOut? Value { get; }

    /// <summary>
    /// Why the item failed, or <see langword="null"/>. A timed-out item holds Polly's <c>TimeoutRejectedException</c>;
    /// an item skipped after another failed (with <see cref="ParallelMapOptions.StopOnFirstFailure"/>) holds an
    /// <see cref="OperationCanceledException"/>.
    /// </summary>
    public Exception? Error { get; }
}
