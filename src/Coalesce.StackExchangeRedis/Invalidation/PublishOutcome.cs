namespace Coalesce.StackExchangeRedis;

/// <summary>What a publish achieved.</summary>
/// <param name="Seq">The invalidation's seq; <see langword="null"/> when Redis gave no answer in time.</param>
/// <param name="Confirmed">Whether every instance live at the publish confirmed it or stopped being live.</param>
internal readonly record struct PublishOutcome(long? Seq, bool Confirmed);
