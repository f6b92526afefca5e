using System.Globalization;

namespace Coalesce;

/// <summary>Default keys for <see cref="SharedCall"/> groups: the function's name and its arguments' exact text.</summary>
internal static class GroupKeys
{
    public static string Prefix(Delegate fn)
    {
        var method = fn.Method;
        return $"{method.DeclaringType?.FullName}.{method.Name}";
    }

    /// <summary>
    /// A key function for argument types whose invariant text identifies the value. Each argument is written
    /// with its length, so <c>("a,b")</c> and <c>("a", "b")</c> never meet.
    /// </summary>
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
            var text = arg switch
            {
                null => "\0null",
                IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
                _ => arg.ToString() ?? string.Empty,
            };
            return string.Create(CultureInfo.InvariantCulture, $"{prefix}|{text.Length}:{text}");
        };
    }

    public static string Checked(string? key) =>
        string.IsNullOrEmpty(key)
            ? throw new InvalidOperationException("The group's key function returned null or an empty key.")
            : key;

    private static bool HasExactText(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) ||
               type == typeof(Guid) || type == typeof(DateTime) || type == typeof(DateTimeOffset) ||
               type == typeof(TimeSpan) || type == typeof(DateOnly) || type == typeof(TimeOnly);
    }
}
