using System.Text.Json.Serialization;

namespace Coalesce.StackExchangeRedis.Tests;

public sealed record Product(int Id, string Name, decimal Price);

/// <summary>
/// Source-generated metadata, as an AOT app gives it. The project turns reflection-based serialization off
/// (<c>JsonSerializerIsReflectionEnabledByDefault</c>), so a path that needed it would fail these tests.
/// </summary>
[JsonSerializable(typeof(Product))]
[JsonSerializable(typeof(string))]
internal sealed partial class SharedValuesJsonContext : JsonSerializerContext;
