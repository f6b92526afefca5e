using Coalesce.LoadRunner.Wrk;

namespace Coalesce.LoadRunner.Tests;

public class WrkOutputTests
{
    // What wrk prints with --latency and lua/report.lua: its own summary, then the WRK_RESULT line.
    private const string Output = """
        Running 10s test @ http://127.0.0.1:5391/coalesce/unique
          2 threads and 64 connections
          Thread Stats   Avg      Stdev     Max   +/- Stdev
            Latency     1.21ms    0.62ms   8.31ms   78.12%
            Req/Sec    21.83k     1.20k   24.10k    71.00%
          Latency Distribution
             50%    1.17ms
             99%    3.13ms
          434650 requests in 10.01s, 62.18MB read
        Requests/sec:  43421.30
        Transfer/sec:      6.21MB
        WRK_RESULT requests=434650 duration_us=10010000 bytes=65201234 p50_us=1170 p90_us=1900 p99_us=3130 max_us=8310 mean_us=1210 status_errors=2 connect_errors=1 read_errors=3 write_errors=0 timeouts=4

        """;

    [Fact]
    public void The_result_line_is_read_out_of_wrks_whole_output()
    {
        var result = WrkResult.Parse(Output);

        Assert.Equal(434650, result.Requests);
        Assert.Equal(10.01, result.DurationSeconds, 6);
        Assert.Equal(1170, result.P50Us);
        Assert.Equal(1900, result.P90Us);
        Assert.Equal(3130, result.P99Us);
        Assert.Equal(8310, result.MaxUs);
        Assert.Equal(434650 / 10.01, result.RequestsPerSecond, 6);
    }

    [Fact]
    public void Errors_are_statuses_of_400_or_more_plus_socket_errors_and_timeouts()
    {
        var result = WrkResult.Parse(Output);

        Assert.Equal(2, result.StatusErrors);
        Assert.Equal(8, result.SocketErrors);
        Assert.Equal(10, result.Errors);
    }

    [Fact]
    public void Output_without_a_result_line_is_a_format_error()
    {
        var error = Assert.Throws<FormatException>(() => WrkResult.Parse("unable to connect to 127.0.0.1:1 Connection refused\n"));

        Assert.Contains("WRK_RESULT", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_result_line_missing_a_figure_is_a_format_error_that_names_it()
    {
        var error = Assert.Throws<FormatException>(() => WrkResult.Parse("WRK_RESULT requests=5 duration_us=1000000\n"));

        Assert.Contains("bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Runs_at_once_combine_into_summed_requests_and_the_worst_latencies()
    {
        var a = new WrkResult(100, 2.0, 1000, 10, 20, 30, 40, 1, 0, 0, 0, 0);
        var b = new WrkResult(50, 2.5, 500, 15, 18, 35, 39, 0, 1, 0, 0, 2);

        var combined = WrkResult.Combine([a, b]);

        Assert.Equal(150, combined.Requests);
        Assert.Equal(2.5, combined.DurationSeconds);
        Assert.Equal(15, combined.P50Us);
        Assert.Equal(20, combined.P90Us);
        Assert.Equal(35, combined.P99Us);
        Assert.Equal(40, combined.MaxUs);
        Assert.Equal(4, combined.Errors);
    }

    [Fact]
    public void The_lockstep_and_probe_lines_are_read_by_their_tags()
    {
        const string output = "WRK_RESULT requests=1\nLOCKSTEP answered=980 needed=1000\nPROBE_RESULT writes=200 p50_us=26120.5\n";

        var lockstep = KeyValueLine.Find(output, "LOCKSTEP");
        var probe = KeyValueLine.Find(output, "PROBE_RESULT");

        Assert.NotNull(lockstep);
        Assert.Equal(980, lockstep.Long("answered"));
        Assert.Equal(1000, lockstep.Long("needed"));
        Assert.NotNull(probe);
        Assert.Equal(26120.5, probe.Double("p50_us"));
        Assert.Null(KeyValueLine.Find(output, "MISSING"));
    }

    [Fact]
    public void Wrk_arguments_never_ask_for_more_threads_than_connections()
    {
        var request = new WrkRequest("http://127.0.0.1:1/scaleout/item/", "lockstep.lua", 1, 5)
        {
            Latency = true,
            Headers = ["Host: scaleout.test"],
        };

        Assert.Equal(
            ["-t", "1", "-c", "1", "-d", "5s", "--timeout", "10s", "--latency", "-H", "Host: scaleout.test", "-s", "lockstep.lua", "http://127.0.0.1:1/scaleout/item/"],
            request.Arguments(defaultThreads: 2));
    }
}
