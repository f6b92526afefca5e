namespace Coalesce;

/// <summary>Progress of a <see cref="ParallelMap"/> run, reported after each item finishes.</summary>
/// <param name="Completed">Items finished so far, successful or not.</param>
/// <param name="Failed">Items among <paramref name="Completed"/> that failed.</param>
/// <param name="Total">Items in the run.</param>
public readonly record struct ParallelMapProgress(int Completed, int Failed, int Total)
{
    /// <summary>Items finished successfully so far.</summary>
    public int Succeeded => Completed - Failed;
}
