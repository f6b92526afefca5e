using Microsoft.Extensions.Primitives;

namespace Coalesce.AspNetCore.Tests.ScaleOut;

public sealed class CapturedResponseFormatterTests
{
    private static CapturedResponse Sample(long? headContentLength = null) => new(
        201,
        [
            new("Content-Type", "text/plain; charset=utf-8"),
            new("ETag", "\"v1\""),
            new("X-Many", new StringValues(["a", "", "ü"])),
        ],
        headContentLength is null ? [1, 2, 3, 0, 255] : [],
        headContentLength);

    [Fact]
    public void A_response_round_trips_with_status_headers_body_and_head_content_length()
    {
        foreach (var original in new[] { Sample(), Sample(headContentLength: 1234) })
        {
            var copy = CapturedResponseFormatter.TryDeserialize(CapturedResponseFormatter.Serialize(original), out var problem);

            Assert.Null(problem);
            Assert.NotNull(copy);
            Assert.Equal(original.StatusCode, copy.StatusCode);
            Assert.Equal(original.HeadContentLength, copy.HeadContentLength);
            Assert.Equal(original.Body, copy.Body);
            Assert.Equal(original.Headers.Select(h => (h.Key, h.Value.ToString())), copy.Headers.Select(h => (h.Key, h.Value.ToString())));
            Assert.Equal(3, copy.Headers[2].Value.Count);
            Assert.Equal(original.ETag, copy.ETag);
        }
    }

    [Fact]
    public void Every_truncation_and_a_trailing_byte_are_misses_not_exceptions()
    {
        var payload = CapturedResponseFormatter.Serialize(Sample());
        for (var length = 0; length < payload.Length; length++)
        {
            Assert.Null(CapturedResponseFormatter.TryDeserialize(payload[..length], out var problem));
            Assert.NotNull(problem);
        }

        Assert.Null(CapturedResponseFormatter.TryDeserialize([.. payload, 0], out _));
    }

    [Fact]
    public void Another_version_huge_lengths_and_invalid_utf8_are_misses()
    {
        var payload = CapturedResponseFormatter.Serialize(Sample());
        var otherVersion = (byte[])payload.Clone();
        otherVersion[0] = CapturedResponseFormatter.Version + 1;
        Assert.Null(CapturedResponseFormatter.TryDeserialize(otherVersion, out _));

        // Version, status 200, no HEAD length, then a header count of int.MaxValue.
        Assert.Null(CapturedResponseFormatter.TryDeserialize([CapturedResponseFormatter.Version, 0xC8, 0x01, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x07], out _));

        // One header whose name claims 100 bytes.
        Assert.Null(CapturedResponseFormatter.TryDeserialize([CapturedResponseFormatter.Version, 0xC8, 0x01, 0, 1, 100, 0x41], out _));

        // One header whose name is not UTF-8.
        Assert.Null(CapturedResponseFormatter.TryDeserialize([CapturedResponseFormatter.Version, 0xC8, 0x01, 0, 1, 1, 0xFF, 1, 0, 0], out var problem));
        Assert.NotNull(problem);

        // Every single-byte corruption either reads or is a miss; none throws.
        for (var i = 0; i < payload.Length; i++)
        {
            var corrupt = (byte[])payload.Clone();
            corrupt[i] ^= 0xA5;
            _ = CapturedResponseFormatter.TryDeserialize(corrupt, out _);
        }
    }
}
