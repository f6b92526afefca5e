using Microsoft.Extensions.Primitives;

namespace Coalesce.AspNetCore.Tests.Middleware.Idempotency;

public sealed class IdempotencyKeyTests
{
    [Theory]
    [InlineData("8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324")]
    [InlineData("\"8e03978e\"", "8e03978e")]
    [InlineData("\"a, b\"", "a, b")]
    [InlineData("\"say \\\"hi\\\" \\\\\"", "say \"hi\" \\")]
    [InlineData("with space", "with space")]
    public void A_bare_or_structured_field_key_is_read(string header, string key)
    {
        Assert.Equal(key, IdempotencyKey.TryRead(header, "Idempotency-Key", out var problem));
        Assert.Null(problem);
    }

    [Theory]
    [InlineData("", "1 to 255 characters")]
    [InlineData("\"\"", "1 to 255 characters")]
    [InlineData("a,b", "holds a comma")]
    [InlineData("\"a\"b\"", "stray quote")]
    [InlineData("\"a\\b\"", "stray quote or backslash")]
    [InlineData("tab\there", "visible ASCII")]
    [InlineData("caf\u00e9", "visible ASCII")]
    public void A_malformed_key_is_refused_with_a_reason_that_never_repeats_it(string header, string reason)
    {
        Assert.Null(IdempotencyKey.TryRead(header, "Idempotency-Key", out var problem));
        Assert.Contains(reason, problem, StringComparison.Ordinal);
        if (header.Length > 2)
        {
            Assert.DoesNotContain(header, problem, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Too_long_and_repeated_keys_are_refused()
    {
        Assert.Null(IdempotencyKey.TryRead(new string('k', 256), "Idempotency-Key", out var tooLong));
        Assert.Contains("it holds 256", tooLong, StringComparison.Ordinal);
        Assert.NotNull(IdempotencyKey.TryRead(new string('k', 255), "Idempotency-Key", out _));
        Assert.Null(IdempotencyKey.TryRead(new StringValues(["a", "b"]), "Idempotency-Key", out var two));
        Assert.Contains("2 Idempotency-Key headers", two, StringComparison.Ordinal);
    }
}
