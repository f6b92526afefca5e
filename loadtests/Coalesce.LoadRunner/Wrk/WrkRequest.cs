using System.Globalization;

namespace Coalesce.LoadRunner.Wrk;

/// <summary>
/// One wrk run: a script from <c>lua/</c> (each loads <c>report.lua</c>, which prints the <c>WRK_RESULT</c> line)
/// against a URL for some seconds with some connections. <see cref="Environment"/> reaches the script
/// (<c>KEYS</c>, <c>FORM</c>, <c>FIRST_ID</c>, ...).
/// </summary>
internal sealed record WrkRequest(string Url, string Script, int Connections, int Seconds)
{
    /// <summary>wrk's threads; by default the run's <c>--threads</c>, never more than the connections.</summary>
    public int? Threads { get; init; }

    /// <summary>Whether wrk prints its latency distribution (kept in the raw output).</summary>
    public bool Latency { get; init; }

    public IReadOnlyList<string> Headers { get; init; } = [];

    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>How long the run may take before it is stopped: its length and a minute.</summary>
    public TimeSpan Bound => TimeSpan.FromSeconds(Seconds + 60);

    public IReadOnlyList<string> Arguments(int defaultThreads)
    {
        var threads = Math.Min(Threads ?? defaultThreads, Connections);
        var arguments = new List<string>
        {
            "-t", threads.ToString(CultureInfo.InvariantCulture),
            "-c", Connections.ToString(CultureInfo.InvariantCulture),
            "-d", string.Create(CultureInfo.InvariantCulture, $"{Seconds}s"),
            "--timeout", "10s",
        };
        if (Latency)
        {
            arguments.Add("--latency");
        }

        foreach (var header in Headers)
        {
            arguments.AddRange(["-H", header]);
        }

        arguments.AddRange(["-s", Script, Url]);
        return arguments;
    }
}
