namespace Coalesce;

/// <summary>An entry read from an <see cref="IMemoCacheLevel"/>.</summary>
/// <param name="Payload">The serialized value.</param>
/// <param name="RemainingTimeToLive">How long the entry still lives there: the local copy gets no longer.</param>
public readonly record struct MemoCacheLevelEntry(byte[] Payload, TimeSpan RemainingTimeToLive);
