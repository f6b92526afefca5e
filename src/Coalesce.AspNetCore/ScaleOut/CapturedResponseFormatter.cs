using System.Text;
using Microsoft.Extensions.Primitives;

namespace Coalesce.AspNetCore;

/// <summary>
/// The second-level bytes of a <see cref="CapturedResponse"/>, in the style of ASP.NET OutputCache's
/// <c>OutputCacheEntryFormatter</c>: a version byte, the status, the HEAD content length, the headers and the body.
/// </summary>
/// <remarks>
/// Layout (integers 7-bit encoded, strings UTF-8 with a 7-bit encoded byte length):
/// <c>version(1) status flags(1) [headContentLength(8)] [renderedAtUnixMilliseconds(8)] headerCount { name valueCount { value } }
/// inputCount { kind(1) name valueCount { value } } bodyLength body</c>; the inputs are those the response was computed
/// from outside its key (<see cref="ObservedInputs"/>), with the leader's values.
/// Reading checks every length against the bytes left and that nothing is left over: anything else is malformed,
/// and a malformed payload is a miss, never an exception.
/// </remarks>
internal static class CapturedResponseFormatter
{
    /// <summary>The format version; a payload of any other version is a miss.</summary>
    public const byte Version = 2;

    private const byte HasHeadContentLength = 1;

    private const byte HasRenderedAt = 2;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static byte[] Serialize(CapturedResponse response)
    {
        using var stream = new MemoryStream(64 + response.Body.Length);
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Version);
            writer.Write7BitEncodedInt(response.StatusCode);
            writer.Write((byte)((response.HeadContentLength is null ? 0 : HasHeadContentLength) | (response.RenderedAt is null ? 0 : HasRenderedAt)));
            if (response.HeadContentLength is { } length)
            {
                writer.Write(length);
            }

            if (response.RenderedAt is { } rendered)
            {
                writer.Write(rendered.ToUnixTimeMilliseconds());
            }

            writer.Write7BitEncodedInt(response.Headers.Length);
            foreach (var (name, values) in response.Headers)
            {
                writer.Write(name);
                WriteValues(writer, values);
            }

            var inputs = response.Inputs?.Inputs ?? [];
            writer.Write7BitEncodedInt(inputs.Length);
            foreach (var (input, value) in inputs)
            {
                writer.Write((byte)input.Kind);
                writer.Write(input.Name);
                WriteValues(writer, value);
            }

            writer.Write7BitEncodedInt(response.Body.Length);
            writer.Write(response.Body);
        }

        return stream.ToArray();
    }

    /// <summary>Reads a payload; <see langword="null"/> (with the reason) when it is not one this version wrote.</summary>
    public static CapturedResponse? TryDeserialize(byte[] payload, out string? problem)
    {
        try
        {
            return Read(payload, out problem);
        }
        catch (Exception ex) when (ex is EndOfStreamException or FormatException or IOException or ArgumentException or OverflowException)
        {
            problem = ex.Message;
            return null;
        }
    }

    private static CapturedResponse? Read(byte[] payload, out string? problem)
    {
        using var stream = new MemoryStream(payload, 0, payload.Length, writable: false, publiclyVisible: true);
        using var reader = new BinaryReader(stream, StrictUtf8);
        if (payload.Length == 0 || reader.ReadByte() != Version)
        {
            problem = "unknown format version";
            return null;
        }

        var status = reader.Read7BitEncodedInt();
        if (status is < 100 or > 999)
        {
            problem = $"status {status} out of range";
            return null;
        }

        var flags = reader.ReadByte();
        if ((flags & ~(HasHeadContentLength | HasRenderedAt)) != 0)
        {
            problem = "unknown flags";
            return null;
        }

        long? headContentLength = null;
        if ((flags & HasHeadContentLength) != 0)
        {
            headContentLength = reader.ReadInt64();
            if (headContentLength < 0)
            {
                problem = "negative content length";
                return null;
            }
        }

        DateTimeOffset? renderedAt = null;
        if ((flags & HasRenderedAt) != 0)
        {
            var milliseconds = reader.ReadInt64();
            if (milliseconds < 0 || milliseconds > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            {
                problem = "render time out of range";
                return null;
            }

            renderedAt = DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
        }

        // Each header takes at least two bytes (an empty name and a value count), each value at least one.
        var headerCount = reader.Read7BitEncodedInt();
        if (headerCount < 0 || headerCount > Remaining(stream) / 2)
        {
            problem = "header count out of range";
            return null;
        }

        var headers = new KeyValuePair<string, StringValues>[headerCount];
        for (var i = 0; i < headerCount; i++)
        {
            var name = ReadString(reader, stream);
            if (name.Length == 0)
            {
                problem = "malformed header";
                return null;
            }

            headers[i] = new(name, ReadValues(reader, stream));
        }

        // Each input takes at least three bytes (its kind, an empty name and a value count).
        var inputCount = reader.Read7BitEncodedInt();
        if (inputCount < 0 || inputCount > Remaining(stream) / 3)
        {
            problem = "input count out of range";
            return null;
        }

        var inputs = new ObservedInput[inputCount];
        for (var i = 0; i < inputCount; i++)
        {
            var kind = (InputKind)reader.ReadByte();
            var name = ReadString(reader, stream);
            if (!Enum.IsDefined(kind))
            {
                problem = "unknown input kind";
                return null;
            }

            inputs[i] = new(new RequestInput(kind, name), ReadValues(reader, stream));
        }

        var bodyLength = reader.Read7BitEncodedInt();
        if (bodyLength < 0 || bodyLength != Remaining(stream))
        {
            problem = "body length does not match the payload";
            return null;
        }

        var body = reader.ReadBytes(bodyLength);
        problem = null;
        return new CapturedResponse(status, headers, body, headContentLength, renderedAt)
        {
            Inputs = inputCount == 0 ? null : new ObservedInputs(inputs),
        };
    }

    private static void WriteValues(BinaryWriter writer, StringValues values)
    {
        writer.Write7BitEncodedInt(values.Count);
        foreach (var value in values)
        {
            writer.Write(value ?? string.Empty);
        }
    }

    private static StringValues ReadValues(BinaryReader reader, MemoryStream stream)
    {
        var valueCount = reader.Read7BitEncodedInt();
        if (valueCount < 0 || valueCount > Remaining(stream))
        {
            throw new FormatException("value count out of range");
        }

        if (valueCount == 1)
        {
            return ReadString(reader, stream);
        }

        var values = new string[valueCount];
        for (var v = 0; v < valueCount; v++)
        {
            values[v] = ReadString(reader, stream);
        }

        return values;
    }

    private static long Remaining(MemoryStream stream) => stream.Length - stream.Position;

    /// <summary>A string whose length is checked against the bytes left before anything is allocated.</summary>
    private static string ReadString(BinaryReader reader, MemoryStream stream)
    {
        var length = reader.Read7BitEncodedInt();
        if (length < 0 || length > Remaining(stream))
        {
            throw new FormatException("string length out of range");
        }

        var start = (int)stream.Position;
        stream.Position += length;
        return StrictUtf8.GetString(stream.GetBuffer(), start, length);
    }
}
