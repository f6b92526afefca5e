using System.Diagnostics.Metrics;

namespace Coalesce.Tests;

/// <summary>An <see cref="IMeterFactory"/> of its own, so a test sees only the instruments it created.</summary>
internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            _meters.ForEach(static m => m.Dispose());
            _meters.Clear();
        }
    }
}
