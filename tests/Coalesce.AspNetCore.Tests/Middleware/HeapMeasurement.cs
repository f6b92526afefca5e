namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>Tests that read the process's managed heap, so nothing else may run beside them.</summary>
[CollectionDefinition(nameof(HeapMeasurement), DisableParallelization = true)]
public sealed class HeapMeasurement;
