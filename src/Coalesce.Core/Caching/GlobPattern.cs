namespace Coalesce;

/// <summary>
/// A compiled glob over keys: <c>*</c> any run of characters, <c>?</c> one character, <c>[abc]</c>, <c>[a-z]</c>
/// and negated <c>[!a-z]</c> (or <c>[^a-z]</c>) classes, and <c>\</c> to take the next character literally.
/// Matching is ordinal and covers the whole key.
/// </summary>
internal sealed class GlobPattern
{
    private readonly Token[] _tokens;

    private GlobPattern(string text, Token[] tokens)
    {
        Text = text;
        _tokens = tokens;
    }

    /// <summary>The pattern as written: parsing it again gives the same glob (other instances apply it so).</summary>
    public string Text { get; }

    /// <summary>Parses <paramref name="pattern"/>.</summary>
    /// <exception cref="ArgumentException">The pattern is malformed; the message says where.</exception>
    public static GlobPattern Parse(string pattern, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(pattern, parameterName);
        var tokens = new List<Token>();
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*':
                    if (tokens.Count == 0 || tokens[^1].Kind != TokenKind.Star)
                    {
                        tokens.Add(new Token(TokenKind.Star, default, null, false));
                    }

                    break;
                case '?':
                    tokens.Add(new Token(TokenKind.AnyOne, default, null, false));
                    break;
                case '\\':
                    if (i + 1 == pattern.Length)
                    {
                        throw Malformed(pattern, parameterName, $"it ends with an escape character '\\' at position {i}");
                    }

                    tokens.Add(new Token(TokenKind.Literal, pattern[++i], null, false));
                    break;
                case '[':
                    i = ParseClass(pattern, i, parameterName, tokens);
                    break;
                default:
                    tokens.Add(new Token(TokenKind.Literal, c, null, false));
                    break;
            }
        }

        return new GlobPattern(pattern, [.. tokens]);
    }

    public bool IsMatch(ReadOnlySpan<char> text)
    {
        // Iterative matching with one backtrack point for the last star: linear in practice, no recursion.
        int t = 0, p = 0, starToken = -1, starText = 0;
        while (t < text.Length)
        {
            if (p < _tokens.Length && _tokens[p].Kind == TokenKind.Star)
            {
                starToken = p++;
                starText = t;
            }
            else if (p < _tokens.Length && _tokens[p].Matches(text[t]))
            {
                p++;
                t++;
            }
            else if (starToken >= 0)
            {
                p = starToken + 1;
                t = ++starText;
            }
            else
            {
                return false;
            }
        }

        while (p < _tokens.Length && _tokens[p].Kind == TokenKind.Star)
        {
            p++;
        }

        return p == _tokens.Length;
    }

    private static int ParseClass(string pattern, int open, string parameterName, List<Token> tokens)
    {
        var i = open + 1;
        var negated = i < pattern.Length && (pattern[i] == '!' || pattern[i] == '^');
        if (negated)
        {
            i++;
        }

        var ranges = new List<(char From, char To)>();
        var first = true;
        while (i < pattern.Length && (pattern[i] != ']' || first))
        {
            var from = pattern[i];
            if (from == '\\' && i + 1 < pattern.Length)
            {
                from = pattern[++i];
            }

            var to = from;
            if (i + 2 < pattern.Length && pattern[i + 1] == '-' && pattern[i + 2] != ']')
            {
                to = pattern[i + 2];
                if (to < from)
                {
                    throw Malformed(pattern, parameterName, $"the range '{from}-{to}' at position {i} runs backwards");
                }

                i += 2;
            }

            ranges.Add((from, to));
            first = false;
            i++;
        }

        if (i >= pattern.Length)
        {
            throw Malformed(pattern, parameterName, $"the character class opened at position {open} is never closed with ']'");
        }

        tokens.Add(new Token(TokenKind.Class, default, [.. ranges], negated));
        return i;
    }

    private static ArgumentException Malformed(string pattern, string parameterName, string why) =>
        new($"The glob pattern '{pattern}' is malformed: {why}. Supported: '*', '?', '[abc]', '[a-z]', '[!a-z]' and '\\' to escape.", parameterName);

    private enum TokenKind
    {
        Literal,
        AnyOne,
        Star,
        Class,
    }

    private readonly record struct Token(TokenKind Kind, char Literal, (char From, char To)[]? Ranges, bool Negated)
    {
        public bool Matches(char c)
        {
            switch (Kind)
            {
                case TokenKind.Literal:
                    return c == Literal;
                case TokenKind.AnyOne:
                    return true;
                case TokenKind.Class:
                    foreach (var (from, to) in Ranges!)
                    {
                        if (c >= from && c <= to)
                        {
                            return !Negated;
                        }
                    }

                    return Negated;
                default:
                    return false;
            }
        }
    }
}
