namespace Coalesce.LoadRunner.Measurement;

/// <summary>
/// One variant of a scenario: the report's name for it, the app's name for its counts (<c>/_counts</c>), and its path.
/// </summary>
internal sealed record Variant(string Name, string Counter, string Path);
