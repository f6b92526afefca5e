using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http.Features;

namespace Coalesce.AspNetCore;

/// <summary>
/// <c>HttpContext.Items</c>, with the entries middleware in front of Coalesce set, and the endpoint's reads of them,
/// recorded (state derived in front from the request is an input of the endpoint that uses it).
/// </summary>
internal sealed class RecordingItemsFeature(IItemsFeature inner, RequestInputs inputs) : IItemsFeature
{
    private IDictionary<object, object?>? _items;
    private IDictionary<object, object?>? _wrapped;

    public IDictionary<object, object?> Items
    {
        get
        {
            var items = inner.Items;
            if (!ReferenceEquals(items, _items))
            {
                _items = items;
                _wrapped = new RecordingItems(items, inputs);
            }

            return _wrapped!;
        }
        set => inner.Items = value;
    }

    private sealed class RecordingItems(IDictionary<object, object?> inner, RequestInputs inputs) : IDictionary<object, object?>
    {
        public object? this[object key]
        {
            get
            {
                // Items' indexer answers null for a missing key, as HttpContext.Items does.
                var value = inner.TryGetValue(key, out var found) ? found : null;
                inputs.ItemRead(key, value);
                return value;
            }
            set
            {
                inputs.ItemSet(key);
                inner[key] = value;
            }
        }

        public ICollection<object> Keys
        {
            get
            {
                inputs.ItemsEnumerated();
                return inner.Keys;
            }
        }

        public ICollection<object?> Values
        {
            get
            {
                inputs.ItemsEnumerated();
                return inner.Values;
            }
        }

        public int Count => inner.Count;

        public bool IsReadOnly => inner.IsReadOnly;

        public void Add(object key, object? value)
        {
            inputs.ItemSet(key);
            inner.Add(key, value);
        }

        public void Add(KeyValuePair<object, object?> item)
        {
            inputs.ItemSet(item.Key);
            inner.Add(item);
        }

        public void Clear() => inner.Clear();

        public bool Contains(KeyValuePair<object, object?> item)
        {
            inputs.ItemRead(item.Key, inner.TryGetValue(item.Key, out var value) ? value : null);
            return inner.Contains(item);
        }

        public bool ContainsKey(object key)
        {
            inputs.ItemRead(key, inner.TryGetValue(key, out var value) ? value : null);
            return inner.ContainsKey(key);
        }

        public void CopyTo(KeyValuePair<object, object?>[] array, int arrayIndex)
        {
            inputs.ItemsEnumerated();
            inner.CopyTo(array, arrayIndex);
        }

        public IEnumerator<KeyValuePair<object, object?>> GetEnumerator()
        {
            inputs.ItemsEnumerated();
            return inner.GetEnumerator();
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public bool Remove(object key) => inner.Remove(key);

        public bool Remove(KeyValuePair<object, object?> item) => inner.Remove(item);

        public bool TryGetValue(object key, [MaybeNullWhen(false)] out object? value)
        {
            var found = inner.TryGetValue(key, out value);
            inputs.ItemRead(key, value);
            return found;
        }
    }
}
