using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Coalesce.AspNetCore;

/// <summary>
/// A tag that may name route values in braces, such as <c>product:{id}</c>, filled from each request, so one
/// declaration tags (or invalidates) exactly the item a request is about.
/// </summary>
internal sealed class TagTemplate
{
    private readonly string[] _literals;
    private readonly string[] _routeValues;

    private TagTemplate(string text, string[] literals, string[] routeValues)
    {
        Text = text;
        _literals = literals;
        _routeValues = routeValues;
    }

    public string Text { get; }

    public IReadOnlyList<string> RouteValueNames => _routeValues;

    public static TagTemplate Parse(string text, string parameterName)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ArgumentException("A tag must not be null, empty or white space.", parameterName);
        }

        var literals = new List<string>();
        var names = new List<string>();
        var literal = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '}')
            {
                throw new ArgumentException($"The tag '{text}' has a '}}' without a matching '{{' at position {i}.", parameterName);
            }

            if (c != '{')
            {
                literal.Append(c);
                continue;
            }

            var end = text.IndexOf('}', i + 1);
            if (end < 0)
            {
                throw new ArgumentException($"The tag '{text}' opens a route value with '{{' at position {i} but never closes it.", parameterName);
            }

            var name = text[(i + 1)..end];
            if (name.Length == 0 || name.Contains('{', StringComparison.Ordinal))
            {
                throw new ArgumentException($"The tag '{text}' has an empty or malformed route value name at position {i}.", parameterName);
            }

            literals.Add(literal.ToString());
            literal.Clear();
            names.Add(name);
            i = end;
        }

        literals.Add(literal.ToString());
        return new TagTemplate(text, [.. literals], [.. names]);
    }

    public string Resolve(HttpContext context)
    {
        if (_routeValues.Length == 0)
        {
            return Text;
        }

        var routeValues = context.Request.RouteValues;
        var builder = new StringBuilder(_literals[0]);
        for (var i = 0; i < _routeValues.Length; i++)
        {
            var value = routeValues.TryGetValue(_routeValues[i], out var v) ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) : null;
            if (value is null)
            {
                throw new InvalidOperationException(
                    $"The tag '{Text}' names the route value '{_routeValues[i]}', which the request to '{context.Request.Path}' does not have.");
            }

            builder.Append(value).Append(_literals[i + 1]);
        }

        return builder.ToString();
    }

    /// <summary>
    /// Says what is wrong when this template names a parameter the endpoint's route doesn't have, naming the
    /// endpoint and the tag; <see langword="null"/> when it fits (or the endpoint has no route pattern to check).
    /// </summary>
    public string? FindMissingRouteValue(Endpoint endpoint)
    {
        if (_routeValues.Length == 0 || endpoint is not RouteEndpoint route)
        {
            return null;
        }

        foreach (var name in _routeValues)
        {
            if (route.RoutePattern.GetParameter(name) is null && !route.RoutePattern.RequiredValues.ContainsKey(name))
            {
                return $"The tag '{Text}' on endpoint '{endpoint.DisplayName}' names the route value '{name}', but the route '{route.RoutePattern.RawText}' has no such parameter.";
            }
        }

        return null;
    }
}
