using Microsoft.Extensions.Primitives;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>A captured response on its own: what it counts towards the memo cache's byte bound.</summary>
public sealed class CapturedResponseTests
{
    [Fact]
    public void A_captured_response_counts_itself_its_body_its_header_array_and_every_name_and_value()
    {
        var response = new CapturedResponse(
            200,
            [new("Content-Type", "application/json"), new("X-Multi", new StringValues(["a", "bb"]))],
            new byte[1000],
            headContentLength: null);

        const long Self = 120;                // 16 B header + three references, a long?, two DateTimeOffset?, two ints, two bools (98 B), rounded up
        const long Body = 1024;               // 24 B array header + 1000
        const long HeaderArray = 56;          // 24 B + 2 x (name reference + StringValues)
        const long ContentType = 48 + 56;     // "Content-Type" (22 + 24 B) and "application/json" (22 + 32 B), rounded up
        const long Multi = 40 + 40 + 24 + 32; // "X-Multi", the two-value array, "a" and "bb"

        Assert.Equal(Self + Body + HeaderArray + ContentType + Multi, response.ApproximateSize);
    }
}
