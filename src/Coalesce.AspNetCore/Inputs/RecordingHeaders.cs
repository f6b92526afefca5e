using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>
/// The request headers, with every read recorded by name: the indexer, <c>TryGetValue</c>, <c>ContainsKey</c>, the
/// typed properties (which read through the indexer), and enumeration (every header). Writes go through unrecorded.
/// </summary>
internal sealed class RecordingHeaders(IHeaderDictionary inner, RequestInputs inputs) : IHeaderDictionary
{
    public StringValues this[string key]
    {
        get
        {
            inputs.ReadHeader(key);
            return inner[key];
        }
        set => inner[key] = value;
    }

    StringValues IDictionary<string, StringValues>.this[string key]
    {
        get
        {
            inputs.ReadHeader(key);
            return ((IDictionary<string, StringValues>)inner)[key];
        }
        set => ((IDictionary<string, StringValues>)inner)[key] = value;
    }

    public long? ContentLength
    {
        get
        {
            inputs.ReadHeader(HeaderNames.ContentLength);
            return inner.ContentLength;
        }
        set => inner.ContentLength = value;
    }

    public ICollection<string> Keys
    {
        get
        {
            inputs.Read(RequestInput.AllHeaders);
            return inner.Keys;
        }
    }

    public ICollection<StringValues> Values
    {
        get
        {
            inputs.Read(RequestInput.AllHeaders);
            return inner.Values;
        }
    }

    /// <remarks>How many headers there are is not taken as a read of them.</remarks>
    public int Count => inner.Count;

    public bool IsReadOnly => inner.IsReadOnly;

#pragma warning disable ASP0019 // A view passes the caller's own call through, duplicate-key exception included.
    public void Add(string key, StringValues value) => inner.Add(key, value);
#pragma warning restore ASP0019

    public void Add(KeyValuePair<string, StringValues> item) => inner.Add(item);

    public void Clear() => inner.Clear();

    public bool Contains(KeyValuePair<string, StringValues> item)
    {
        inputs.ReadHeader(item.Key);
        return inner.Contains(item);
    }

    public bool ContainsKey(string key)
    {
        inputs.ReadHeader(key);
        return inner.ContainsKey(key);
    }

    public void CopyTo(KeyValuePair<string, StringValues>[] array, int arrayIndex)
    {
        inputs.Read(RequestInput.AllHeaders);
        inner.CopyTo(array, arrayIndex);
    }

    public IEnumerator<KeyValuePair<string, StringValues>> GetEnumerator()
    {
        inputs.Read(RequestInput.AllHeaders);
        return inner.GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Remove(string key) => inner.Remove(key);

    public bool Remove(KeyValuePair<string, StringValues> item) => inner.Remove(item);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out StringValues value)
    {
        inputs.ReadHeader(key);
        return inner.TryGetValue(key, out value);
    }
}
