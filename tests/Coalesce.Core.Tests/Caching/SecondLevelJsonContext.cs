using System.Text.Json;
using System.Text.Json.Serialization;

namespace Coalesce.Tests.Caching;

public sealed record Product(int Id, string Name, decimal Price);

[JsonConverter(typeof(Converter))]
public sealed record Unserializable(string Value)
{
    internal sealed class Converter : JsonConverter<Unserializable>
    {
        public override Unserializable Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            new(reader.GetString()!);

        public override void Write(Utf8JsonWriter writer, Unserializable value, JsonSerializerOptions options) =>
            throw new NotSupportedException("this value does not serialize");
    }
}

/// <summary>Source-generated metadata, as an AOT app gives it: no reflection-based serialization.</summary>
[JsonSerializable(typeof(Product))]
[JsonSerializable(typeof(Unserializable))]
[JsonSerializable(typeof(string))]
internal sealed partial class SecondLevelJsonContext : JsonSerializerContext;
