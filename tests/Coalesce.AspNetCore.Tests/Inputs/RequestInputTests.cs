using Coalesce.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
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
    public void The_protocol_read_while_the_endpoint_runs_is_an_input()
    {
        var context = new DefaultHttpContext();
        context.Request.Protocol = "HTTP/2";
        var inputs = Recording(context);

        inputs.StartRecording();
        _ = context.Request.Protocol;
        inputs.StopRecording();

        var observed = inputs.Collect(context, State());
        Assert.NotNull(observed);
        Assert.Equal(new ObservedInput(RequestInput.Protocol, "HTTP/2"), Assert.Single(observed.Inputs));
        var other = new DefaultHttpContext();
        other.Request.Protocol = "HTTP/1.1";
        Assert.Equal(RequestInput.Protocol, observed.FindDifference(other));
    }

    [Fact]
    public void Reads_in_front_count_only_through_state_left_for_the_endpoint_and_never_an_enumeration_or_a_tracing_header()
    {
        var context = new DefaultHttpContext();
        context.Request.Headers["X-Tenant"] = "acme";
        context.Request.Headers["traceparent"] = "00-1-2-01";
        context.Request.Headers["User-Agent"] = "browser";
        context.Features.Set<IItemsFeature>(new ItemsFeature());
        RequestInputs.Install(context);
        var inputs = context.Features.GetRequiredFeature<RequestInputs>();

        // In front: request logging enumerates every header, a resolver reads one and leaves an object behind.
        _ = context.Request.Headers.ToList();
        _ = context.Request.Headers["traceparent"];
        context.Items["tenant"] = new object();
        _ = context.Request.Headers["X-Tenant"];
        inputs.Enter();

        // Coalesce's own reads are not the app's.
        _ = context.Request.Headers.UserAgent;

        inputs.StartRecording();
        inputs.StopRecording();
        Assert.Null(inputs.Collect(context, State()));

        inputs.StartRecording();
        _ = context.Items["tenant"];
        inputs.StopRecording();
        var observed = inputs.Collect(context, State());
        Assert.NotNull(observed);
        Assert.Equal(new ObservedInput(new RequestInput(InputKind.Header, "X-Tenant"), "acme"), Assert.Single(observed.Inputs));
    }

    [Fact]
    public void Coalesce_finds_the_recorder_and_reads_the_servers_own_headers_even_when_the_request_feature_was_wrapped()
    {
        var context = new DefaultHttpContext();
        var server = context.Request.Headers;
        server["X-Tenant"] = "acme";
        RequestInputs.Install(context);
        var inputs = context.Features.GetRequiredFeature<RequestInputs>();

        // Found through the request feature it stands in for, and Coalesce's reads skip the recording view.
        Assert.Same(inputs, RequestInputs.Of(context));
        Assert.Same(server, RequestInputs.UnrecordedHeaders(context));
        Assert.NotSame(server, context.Request.Headers);
        inputs.Enter();
        inputs.StartRecording();
        _ = RequestInputs.UnrecordedHeaders(context)["X-Tenant"];
        inputs.StopRecording();
        Assert.Null(inputs.Collect(context, State()));

        // Middleware in front replaced the request feature with one of its own: the recorder is still found (by its
        // own type), and the headers read are the request's, through whatever stands in front of them.
        var wrapped = new HttpRequestFeature { Headers = context.Request.Headers, Method = "GET" };
        context.Features.Set<IHttpRequestFeature>(wrapped);
        Assert.Same(inputs, RequestInputs.Of(context));
        Assert.Same(wrapped.Headers, RequestInputs.UnrecordedHeaders(context));
        Assert.Equal("acme", RequestInputs.UnrecordedHeaders(context)["X-Tenant"]);
    }

    [Fact]
    public void Without_the_start_up_filter_there_is_no_recorder_and_the_headers_are_the_requests()
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Host = "example.com";

        Assert.Null(RequestInputs.Of(context));
        Assert.Same(context.Request.Headers, RequestInputs.UnrecordedHeaders(context));
        Assert.Equal("example.com", RequestInputs.UnrecordedHeaders(context).Host);
    }

    private static RequestInputs Recording(HttpContext context)
    {
        RequestInputs.Install(context);
        var inputs = context.Features.GetRequiredFeature<RequestInputs>();
        inputs.Enter();
        return inputs;
    }

    private static EndpointState State() => new(
        new Microsoft.AspNetCore.Routing.RouteEndpoint(static _ => Task.CompletedTask, Microsoft.AspNetCore.Routing.Patterns.RoutePatternFactory.Parse("/x"), 0, EndpointMetadataCollection.Empty, "/x"),
        new RequestCoalescingOptions(),
        new CoalescingStatsRegistry(new MemoCache()));

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
