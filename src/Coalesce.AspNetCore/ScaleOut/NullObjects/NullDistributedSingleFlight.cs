namespace Coalesce.AspNetCore;

/// <summary>Cross-instance single-flight on an app without it: every leader runs here.</summary>
internal sealed class NullDistributedSingleFlight : IDistributedSingleFlight
{
    public static readonly NullDistributedSingleFlight Instance = new();

    private NullDistributedSingleFlight()
    {
    }

    public bool Enabled => false;

    public ValueTask<DistributedFlight> LeadOrWaitAsync(
        string key, IReadOnlyCollection<string> tags, bool memoized, TimeSpan waitTimeout, CancellationToken cancellationToken) =>
        ValueTask.FromResult(DistributedFlight.RunHere);
}
