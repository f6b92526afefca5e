using Coalesce.LoadRunner.Measurement;
using Coalesce.LoadRunner.Processes;
using Coalesce.LoadRunner.Scenarios;

namespace Coalesce.LoadRunner.Tests;

public class ProcessFiguresTests
{
    [Fact]
    public void Cpu_ticks_are_user_plus_system_time_counted_after_the_command_name()
    {
        // A command name with a space and a parenthesis, as a process may name itself.
        const string stat = "4242 (dotnet (x) y) S 1 4242 4242 0 -1 4194560 12345 0 0 0 731 269 0 0 20 0 24 0 998877 3000000000 50000";

        Assert.Equal(1000, ProcessCpu.ParseTicks(stat));
    }

    [Fact]
    public void A_line_that_is_not_a_stat_line_is_a_format_error() =>
        Assert.Throws<FormatException>(() => ProcessCpu.ParseTicks("not a stat line"));

    [Fact]
    public void Scale_out_counts_are_read_summed_over_instances_and_differenced()
    {
        var before = ScaleOutCounts.Sum([
            ScaleOutCounts.Parse("exec 1 1\nexec 2 1\nredis remote_waits 3\n"),
            ScaleOutCounts.Parse("exec 1 1\n"),
        ]);
        var after = ScaleOutCounts.Sum([
            ScaleOutCounts.Parse("exec 1 2\nexec 2 1\nexec 3 1\nredis remote_waits 10\nredis connected 1\n"),
            ScaleOutCounts.Parse("exec 1 1\nexec 3 2\nsomething else\n"),
        ]);

        var grown = after.Since(before);

        Assert.Equal(new Dictionary<int, long> { [1] = 1, [3] = 3 }, grown.Executions);
        Assert.Equal(7, grown.RedisFigure("remote_waits"));
        Assert.Equal(0, grown.RedisFigure("leases_won"));
    }

    [Fact]
    public void Executions_per_key_count_only_the_ids_of_the_range()
    {
        var grown = ScaleOutCounts.Parse("exec 9 5\nexec 10 1\nexec 11 3\nexec 12 1\nexec 20 4\n");

        var executions = ExecutionsPerKey.Of(grown, firstId: 10, keys: 5);

        Assert.Equal(new ExecutionsPerKey(Total: 5, KeysRun: 3, MaxPerKey: 3, KeysRunMoreThanOnce: 1), executions);
    }

    [Fact]
    public void A_log_counts_warnings_errors_and_the_exceptions_the_errors_name()
    {
        const string log = """
            warn: Coalesce.AspNetCore.RequestCoalescingMiddleware[2015]
                  Serving a stale response
            fail: Microsoft.AspNetCore.Server.Kestrel[13]
                  Connection id "0HN", Request id "0HN:1": An unhandled exception was thrown by the application.
                  System.NullReferenceException: Object reference not set to an instance of an object.
            crit: Something[1]
                  StackExchange.Redis.RedisTimeoutException: Timeout
            fail: Other[2]
                  no exception named here
            info: not counted
            """;

        var summary = LogSummary.Of(log);

        Assert.Equal(1, summary.Warnings);
        Assert.Equal(3, summary.Errors);
        Assert.Equal(
            new Dictionary<string, long> { ["StackExchange.Redis.RedisTimeoutException"] = 1, ["System.NullReferenceException"] = 1 },
            summary.Exceptions);
        Assert.Equal(4, LogSummary.Sum([summary, LogSummary.Empty]).WarningsAndErrors);
    }
}
