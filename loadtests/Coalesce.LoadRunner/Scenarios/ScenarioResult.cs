using System.Text.Json.Serialization;
using Coalesce.LoadRunner.Options;

namespace Coalesce.LoadRunner.Scenarios;

/// <summary>What one scenario measured in one mode; each scenario has its own record.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "scenario")]
[JsonDerivedType(typeof(StampedeResult), "stampede")]
[JsonDerivedType(typeof(OverheadResult), "overhead")]
[JsonDerivedType(typeof(MemoHitResult), "memo")]
[JsonDerivedType(typeof(ZipfResult), "zipf")]
[JsonDerivedType(typeof(ScaleResult), "scale")]
[JsonDerivedType(typeof(MemoryResult), "memory")]
[JsonDerivedType(typeof(OutageResult), "outage")]
[JsonDerivedType(typeof(ScaleOutResult), "scaleout")]
[JsonDerivedType(typeof(StreamingResult), "streaming")]
[JsonDerivedType(typeof(SkippedResult), "skipped")]
internal abstract record ScenarioResult(MeasurementMode Mode);

/// <summary>A scenario that was asked for but could not run, and why (the scale-out scenario without redis-server).</summary>
internal sealed record SkippedResult(MeasurementMode Mode, string Name, string Reason) : ScenarioResult(Mode);
