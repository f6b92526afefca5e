namespace Coalesce.LoadRunner.Measurement;

/// <summary>
/// Decides when a warm-up has reached steady throughput: the last <see cref="Windows"/> windows' requests per
/// second all lie within <see cref="Tolerance"/> of one another (the highest at most that much above the lowest).
/// On one core tiered compilation competes with the requests, so throughput climbs for a while before it holds.
/// </summary>
internal sealed class SteadyState(double tolerance, int windows = 3)
{
    private readonly List<double> _rates = [];

    public double Tolerance { get; } = tolerance;

    public int Windows { get; } = windows;

    public IReadOnlyList<double> Rates => _rates;

    /// <summary>Adds one window's requests per second; returns whether throughput is now steady.</summary>
    public bool Add(double requestsPerSecond)
    {
        _rates.Add(requestsPerSecond);
        return IsSteady;
    }

    public bool IsSteady
    {
        get
        {
            if (_rates.Count < Windows)
            {
                return false;
            }

            var last = _rates.Skip(_rates.Count - Windows).ToArray();
            var lowest = last.Min();
            return lowest > 0 && last.Max() / lowest - 1 <= Tolerance;
        }
    }
}
