using Coalesce.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Coalesce.AspNetCore.Tests.Inputs;

/// <summary>How inputs are named, read and carried to other instances.</summary>
public sealed class RequestInputTests
{
    [Theory]
    [InlineData("header:X-Tenant")]
    [InlineData("query:region")]
    [InlineData("cookie:theme")]
    [InlineData("item:tenant")]
    [InlineData("connection:remote-address")]
    [InlineData("connection:remote-port")]
    [InlineData("request:protocol")]
    [InlineData("header:*")]
    [InlineData("query:*")]
    [InlineData("cookie:*")]
    public void An_input_reads_back_from_its_name(string name)
    {
        Assert.True(RequestInput.TryParse(name, out var input));
        Assert.Equal(name, input.Value.ToString());
    }

    [Theory]
    [InlineData("X-Tenant")]
    [InlineData("header:")]
    [InlineData(":x")]
    [InlineData("body:x")]
    [InlineData("connection:address")]
    [InlineData("")]
    public void A_name_that_is_no_input_is_refused(string name) => Assert.False(RequestInput.TryParse(name, out _));

    [Fact]
    public void Header_names_compare_without_case_item_names_with_it()
    {
        Assert.Equal(new RequestInput(InputKind.Header, "X-Tenant"), new RequestInput(InputKind.Header, "x-tenant"));
        Assert.Equal(new RequestInput(InputKind.Header, "X-Tenant").GetHashCode(), new RequestInput(InputKind.Header, "x-tenant").GetHashCode());
        Assert.NotEqual(new RequestInput(InputKind.Item, "Tenant"), new RequestInput(InputKind.Item, "tenant"));
    }

    [Fact]
    public void A_response_carries_its_inputs_to_another_instance_and_a_request_with_other_values_differs()
    {
        var inputs = new ObservedInputs(
        [
            new(new RequestInput(InputKind.Header, "X-Tenant"), "acme"),
            new(new RequestInput(InputKind.Query, "region"), new StringValues(["north", "east"])),
            new(RequestInput.RemoteAddress, "10.0.0.1"),
        ]);
        var response = new CapturedResponse(200, [new("Content-Type", "text/plain")], "hi"u8.ToArray(), null) { Inputs = inputs };

        var read = CapturedResponseFormatter.TryDeserialize(CapturedResponseFormatter.Serialize(response), out var problem);

        Assert.Null(problem);
        Assert.NotNull(read?.Inputs);
        Assert.Equal(inputs.Inputs, read.Inputs.Inputs);

        var same = new DefaultHttpContext();
        same.Request.Headers["X-Tenant"] = "acme";
        same.Request.QueryString = new QueryString("?region=north&region=east");
        same.Connection.RemoteIpAddress = System.Net.IPAddress.Parse("10.0.0.1");
        Assert.Null(read.Inputs.FindDifference(same));

        var other = new DefaultHttpContext();
        other.Request.Headers["X-Tenant"] = "globex";
        other.Request.QueryString = same.Request.QueryString;
        other.Connection.RemoteIpAddress = same.Connection.RemoteIpAddress;
        Assert.Equal(new RequestInput(InputKind.Header, "X-Tenant"), read.Inputs.FindDifference(other));
    }

    [Fact]
    public void A_payload_naming_an_unknown_input_kind_is_a_miss()
    {
        var response = new CapturedResponse(200, [], [], null)
        {
            Inputs = new ObservedInputs([new(new RequestInput(InputKind.Header, "X"), "1")]),
        };
        var payload = CapturedResponseFormatter.Serialize(response);

        // version, status 200 (2 bytes), flags, header count 0, input count 1, then the input's kind.
        Assert.Equal((byte)InputKind.Header, payload[6]);
        payload[6] = 0xEE;

        Assert.Null(CapturedResponseFormatter.TryDeserialize(payload, out var problem));
        Assert.Equal("unknown input kind", problem);
    }
}
