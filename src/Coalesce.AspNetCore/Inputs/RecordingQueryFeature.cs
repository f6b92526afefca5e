using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Coalesce.AspNetCore;

/// <summary>The query parameters, with reads recorded by name (enumeration: every parameter).</summary>
internal sealed class RecordingQueryFeature(RequestInputs inputs) : IQueryFeature
{
    private IQueryCollection? _set;
    private RecordingQuery? _query;

    public IQueryCollection Query
    {
        get => _set ?? (_query ??= new RecordingQuery(inputs));
        set => _set = value;
    }

    private sealed class RecordingQuery(RequestInputs inputs) : IQueryCollection
    {
        private IQueryCollection Inner => inputs.InnerQuery;

        public StringValues this[string key]
        {
            get
            {
                inputs.Read(new RequestInput(InputKind.Query, key));
                return Inner[key];
            }
        }

        public int Count => Inner.Count;

        public ICollection<string> Keys
        {
            get
            {
                inputs.Read(RequestInput.AllQuery);
                return Inner.Keys;
            }
        }

        public bool ContainsKey(string key)
        {
            inputs.Read(new RequestInput(InputKind.Query, key));
            return Inner.ContainsKey(key);
        }

        public IEnumerator<KeyValuePair<string, StringValues>> GetEnumerator()
        {
            inputs.Read(RequestInput.AllQuery);
            return Inner.GetEnumerator();
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public bool TryGetValue(string key, [MaybeNullWhen(false)] out StringValues value)
        {
            inputs.Read(new RequestInput(InputKind.Query, key));
            return Inner.TryGetValue(key, out value);
        }
    }
}
