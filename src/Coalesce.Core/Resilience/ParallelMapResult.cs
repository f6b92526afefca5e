using System.Collections;
using System.Globalization;

namespace Coalesce;

/// <summary>
/// Every item's outcome of a <see cref="ParallelMap"/> run: in input order when
/// <see cref="ParallelMapOptions.Ordered"/> is set, otherwise in completion order. Nothing is dropped: failed
/// items are in the list with their <see cref="ParallelMapItemResult{TIn, TOut}.Error"/>.
/// </summary>
/// <typeparam name="TIn">The item type.</typeparam>
/// <typeparam name="TOut">The result type.</typeparam>
public sealed class ParallelMapResult<TIn, TOut> : IReadOnlyList<ParallelMapItemResult<TIn, TOut>>
{
    private readonly ParallelMapItemResult<TIn, TOut>[] _items;

    internal ParallelMapResult(ParallelMapItemResult<TIn, TOut>[] items)
    {
        _items = items;
        Failures = [.. items.Where(item => !item.Succeeded)];
    }

    /// <summary>The number of items.</summary>
    public int Count => _items.Length;

    /// <summary>The failed items, in the same order as the results.</summary>
    public IReadOnlyList<ParallelMapItemResult<TIn, TOut>> Failures { get; }

    /// <summary>Whether every item succeeded.</summary>
    public bool AllSucceeded => Failures.Count == 0;

    /// <summary>The outcome at <paramref name="index"/> of this list (not necessarily the input index).</summary>
    /// <param name="index">The position in this list.</param>
    public ParallelMapItemResult<TIn, TOut> this[int index] => _items[index];

    /// <summary>The values of the successful items, in the order of the results.</summary>
    public IReadOnlyList<TOut> Values() => [.. _items.Where(item => item.Succeeded).Select(item => item.Value!)];

    /// <summary>
    /// Throws an <see cref="AggregateException"/> holding every failed item's error (in result order, with
    /// the input indices in the message) when any item failed; does nothing otherwise.
    /// </summary>
    /// <exception cref="AggregateException">At least one item failed.</exception>
    public void ThrowIfAnyFailed()
    {
        if (Failures.Count == 0)
        {
            return;
        }

        var indices = string.Join(", ", Failures.Select(item => item.Index.ToString(CultureInfo.InvariantCulture)));
        throw new AggregateException(
            $"{Failures.Count} of {Count} items failed (input indices {indices}).",
            Failures.Select(item => item.Error!));
    }

    /// <inheritdoc />
    public IEnumerator<ParallelMapItemResult<TIn, TOut>> GetEnumerator() => ((IEnumerable<ParallelMapItemResult<TIn, TOut>>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
