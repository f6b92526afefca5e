namespace Coalesce.StackExchangeRedis;

/// <summary>One publication as this instance saw it: its seq and the writer's id for it.</summary>
/// <param name="Seq">The invalidation's seq.</param>
/// <param name="PublishId">The writer's id for this publication (unique per publication).</param>
internal sealed record SeenPublication(long Seq, string PublishId)
{
    /// <summary>The publication as the ids set holds it: <c>seq:publishId</c>.</summary>
    public string Member => Seq.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + PublishId;
}
