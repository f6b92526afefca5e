using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Coalesce;

/// <summary>
/// Default keys made from a function's arguments, shared by <see cref="SharedCall"/> groups and memoized
/// functions. Only arguments whose invariant text identifies their value get one (strings, numbers, dates,
/// <see cref="Guid"/>, enums, and tuples of those): a type that merely prints its name would make every instance
/// share one result, so such types need a key function. Every value is written with its length, so
/// <c>("a,b", "c")</c> and <c>("a", "b,c")</c> never meet.
/// </summary>
internal static class ArgumentKeys
{
    public static string Prefix(Delegate fn)
    {
        var method = fn.Method;
        return $"{method.DeclaringType?.FullName}.{method.Name}";
    }

    /// <summary>A key function for <typeparamref name="TArg"/>, or an <see cref="ArgumentException"/> naming <paramref name="parameterName"/>.</summary>
    public static Func<TArg, string> Default<TArg>(string prefix, string parameterName)
    {
        if (!HasExactText(typeof(TArg)))
        {
            throw new ArgumentException(
                $"No default key exists for arguments of type '{typeof(TArg)}': its text form may not identify its value. Pass a key function.",
                parameterName);
        }

        return arg =>
        {
            var key = new StringBuilder(prefix).Append('|');
            AppendExact(key, arg);
            return key.ToString();
        };
    }

    public static string Checked(string? key) =>
        string.IsNullOrEmpty(key)
            ? throw new InvalidOperationException("The key function returned null or an empty key.")
            : key;

    internal static bool HasExactText(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (typeof(ITuple).IsAssignableFrom(type) && type.IsGenericType)
        {
            return Array.TrueForAll(type.GetGenericArguments(), HasExactText);
        }

        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) ||
               type == typeof(Guid) || type == typeof(DateTime) || type == typeof(DateTimeOffset) ||
               type == typeof(TimeSpan) || type == typeof(DateOnly) || type == typeof(TimeOnly);
    }

    private static void AppendExact(StringBuilder key, object? value)
    {
        switch (value)
        {
            case null:
                key.Append('~');
                break;
            case ITuple tuple:
                key.Append('(').Append(tuple.Length).Append(':');
                for (var i = 0; i < tuple.Length; i++)
                {
                    AppendExact(key, tuple[i]);
                }

                key.Append(')');
                break;
            default:
                var text = value is IFormattable formattable
                    ? formattable.ToString(null, CultureInfo.InvariantCulture)
                    : value.ToString() ?? string.Empty;
                key.Append(text.Length).Append(':').Append(text);
                break;
        }
    }
}
