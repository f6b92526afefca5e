namespace Coalesce.AspNetCore;

/// <summary>Counts one request's outcome twice: in the all-requests figures and in its endpoint's.</summary>
internal readonly struct ExecutionCounters(SharedCallCounters requests, SharedCallCounters endpoint)
{
    public void Hit()
    {
        requests.Hit();
        endpoint.Hit();
    }

    public void Started()
    {
        requests.Started();
        endpoint.Started();
    }

    public void Completed(bool failed)
    {
        requests.Completed(failed);
        endpoint.Completed(failed);
    }
}
