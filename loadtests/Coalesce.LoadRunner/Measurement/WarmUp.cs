namespace Coalesce.LoadRunner.Measurement;

/// <summary>
/// How a variant was warmed up: for how long, and in the one-core mode each window's requests per second and whether
/// they became steady within the bound (<see cref="Steady"/> is null for a fixed warm-up).
/// </summary>
internal sealed record WarmUp(string Variant, int Seconds, bool? Steady, IReadOnlyList<double> WindowRequestsPerSecond);
