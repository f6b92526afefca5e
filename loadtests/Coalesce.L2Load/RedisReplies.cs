using System.Globalization;

namespace Coalesce.L2Load;

/// <summary>Reads the few raw Redis replies the measurement needs.</summary>
internal static class RedisReplies
{
    /// <summary>The server's CPU seconds so far (<c>used_cpu_sys + used_cpu_user</c>) from an <c>INFO cpu</c> reply.</summary>
    public static double CpuSeconds(string info)
    {
        ArgumentNullException.ThrowIfNull(info);
        double? sys = null, user = null;
        foreach (var line in info.Split('\n'))
        {
            var trimmed = line.TrimEnd('\r');
            if (trimmed.StartsWith("used_cpu_sys:", StringComparison.Ordinal))
            {
                sys = double.Parse(trimmed["used_cpu_sys:".Length..], CultureInfo.InvariantCulture);
            }
            else if (trimmed.StartsWith("used_cpu_user:", StringComparison.Ordinal))
            {
                user = double.Parse(trimmed["used_cpu_user:".Length..], CultureInfo.InvariantCulture);
            }
        }

        return sys is { } s && user is { } u
            ? s + u
            : throw new FormatException($"INFO cpu reply without used_cpu_sys and used_cpu_user: '{info}'.");
    }

    /// <summary>The number of an integer reply (<c>:42\r\n</c>), as <c>DBSIZE</c> answers.</summary>
    public static long Integer(string reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var end = reply.IndexOf('\r', StringComparison.Ordinal);
        return reply.StartsWith(':') && end > 1 && long.TryParse(reply.AsSpan(1, end - 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new FormatException($"Not an integer reply: '{reply}'.");
    }
}
