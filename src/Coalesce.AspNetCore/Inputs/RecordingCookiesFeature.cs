using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Coalesce.AspNetCore;

/// <summary>The request cookies, with reads recorded by name (enumeration: every cookie).</summary>
internal sealed class RecordingCookiesFeature(RequestInputs inputs) : IRequestCookiesFeature
{
    private IRequestCookieCollection? _set;
    private RecordingCookies? _cookies;

    public IRequestCookieCollection Cookies
    {
        get => _set ?? (_cookies ??= new RecordingCookies(inputs));
        set => _set = value;
    }

    private sealed class RecordingCookies(RequestInputs inputs) : IRequestCookieCollection
    {
        private IRequestCookieCollection Inner => inputs.InnerCookies;

        public string? this[string key]
        {
            get
            {
                inputs.Read(new RequestInput(InputKind.Cookie, key));
                return Inner[key];
            }
        }

        public int Count => Inner.Count;

        public ICollection<string> Keys
        {
            get
            {
                inputs.Read(RequestInput.AllCookies);
                return Inner.Keys;
            }
        }

        public bool ContainsKey(string key)
        {
            inputs.Read(new RequestInput(InputKind.Cookie, key));
            return Inner.ContainsKey(key);
        }

        public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
        {
            inputs.Read(RequestInput.AllCookies);
            return Inner.GetEnumerator();
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public bool TryGetValue(string key, [NotNullWhen(true)] out string? value)
        {
            inputs.Read(new RequestInput(InputKind.Cookie, key));
            return Inner.TryGetValue(key, out value);
        }
    }
}
