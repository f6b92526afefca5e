using System.Globalization;

namespace Coalesce.LoadRunner.Measurement;

/// <summary>
/// One instance's <c>GET /_scaleout/counts.txt</c>: lines <c>exec &lt;id&gt; &lt;count&gt;</c> (backend executions per
/// id) and, on Redis, <c>redis &lt;figure&gt; &lt;value&gt;</c> (the Redis level's counters).
/// </summary>
internal sealed record ScaleOutCounts(IReadOnlyDictionary<int, long> Executions, IReadOnlyDictionary<string, long> Redis)
{
    public static ScaleOutCounts Empty { get; } = new(new Dictionary<int, long>(), new Dictionary<string, long>());

    public static ScaleOutCounts Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var executions = new Dictionary<int, long>();
        var redis = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 3 || !long.TryParse(fields[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            if (fields[0] == "exec" && int.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var id))
            {
                executions[id] = value;
            }
            else if (fields[0] == "redis")
            {
                redis[fields[1]] = value;
            }
        }

        return new ScaleOutCounts(executions, redis);
    }

    /// <summary>Several instances' counts as one: executions per id and Redis figures summed.</summary>
    public static ScaleOutCounts Sum(IEnumerable<ScaleOutCounts> instances)
    {
        ArgumentNullException.ThrowIfNull(instances);
        var executions = new Dictionary<int, long>();
        var redis = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var instance in instances)
        {
            foreach (var (id, count) in instance.Executions)
            {
                executions[id] = executions.GetValueOrDefault(id) + count;
            }

            foreach (var (figure, value) in instance.Redis)
            {
                redis[figure] = redis.GetValueOrDefault(figure) + value;
            }
        }

        return new ScaleOutCounts(executions, redis);
    }

    /// <summary>What grew from <paramref name="before"/> to this: executions per id (ids that ran only) and Redis figures.</summary>
    public ScaleOutCounts Since(ScaleOutCounts before)
    {
        ArgumentNullException.ThrowIfNull(before);
        var executions = Executions
            .Select(e => (e.Key, Count: e.Value - before.Executions.GetValueOrDefault(e.Key)))
            .Where(e => e.Count > 0)
            .ToDictionary(e => e.Key, e => e.Count);
        var redis = Redis.ToDictionary(r => r.Key, r => r.Value - before.Redis.GetValueOrDefault(r.Key), StringComparer.Ordinal);
        return new ScaleOutCounts(executions, redis);
    }

    public long RedisFigure(string name) => Redis.GetValueOrDefault(name);
}
