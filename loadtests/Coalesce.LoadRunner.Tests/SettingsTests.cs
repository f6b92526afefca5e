using Coalesce.LoadRunner.Options;

namespace Coalesce.LoadRunner.Tests;

public class SettingsTests
{
    private static RunSettings Read(string[] arguments, Dictionary<string, string>? environment = null) =>
        RunSettings.Read(new SettingsReader(arguments, name => environment?.GetValueOrDefault(name)), "/repo/loadtests/results");

    [Fact]
    public void Without_options_a_run_has_the_defaults_run_sh_had()
    {
        var settings = Read([]);

        Assert.Equal(10, settings.DurationSeconds);
        Assert.Equal(5, settings.Rounds);
        Assert.Equal([64, 512, 2000], settings.ScaleConnections);
        Assert.Equal(RunSettings.AllScenarios, settings.Scenarios);
        Assert.False(settings.ScenariosGiven);
        Assert.Equal([MeasurementMode.BothCores], settings.Modes);
        Assert.Equal("/repo/loadtests/results", settings.ResultsFolder);
    }

    [Fact]
    public void The_environment_variables_people_use_still_work_and_the_command_line_wins()
    {
        var settings = Read(["--duration", "7", "--warmup=4"], new() { ["DURATION"] = "3", ["WARMUP"] = "1", ["SCENARIOS"] = "zipf outage", ["SCALE_CONNECTIONS"] = "8 16" });

        Assert.Equal(7, settings.DurationSeconds);
        Assert.Equal(4, settings.WarmupSeconds);
        Assert.Equal(["zipf", "outage"], settings.Scenarios);
        Assert.True(settings.ScenariosGiven);
        Assert.Equal([8, 16], settings.ScaleConnections);
    }

    [Fact]
    public void Scenarios_run_in_the_order_of_the_report_each_once()
    {
        var settings = Read(["--scenarios", "outage,stampede outage"]);

        Assert.Equal(["stampede", "outage"], settings.Scenarios);
    }

    [Fact]
    public void The_one_core_mode_pins_the_app_and_the_load_to_the_cpus_given()
    {
        var settings = Read(["--mode", "one-core,both-cores", "--app-cpu", "1", "--load-cpu", "0"]);

        Assert.Equal([MeasurementMode.OneCore(1, 0), MeasurementMode.BothCores], settings.Modes);
        Assert.True(settings.Modes[0].IsOneCore);
    }

    [Fact]
    public void A_smoke_run_is_short_and_writes_outside_the_repository_unless_told()
    {
        var settings = Read(["--smoke"]);

        Assert.True(settings.Smoke);
        Assert.Equal(1, settings.DurationSeconds);
        Assert.Equal(2, settings.Rounds);
        Assert.DoesNotContain("/repo/", settings.ResultsFolder, StringComparison.Ordinal);
        Assert.Equal("/tmp/elsewhere", Read(["--smoke", "--results", "/tmp/elsewhere"]).ResultsFolder);
    }

    [Theory]
    [InlineData("--duration", "0")]
    [InlineData("--duration", "ten")]
    [InlineData("--scenarios", "stampede nonsense")]
    [InlineData("--mode", "two-cores")]
    [InlineData("--memory-keys", "10")]
    [InlineData("--no-such-option", "1")]
    public void A_setting_out_of_its_range_stops_the_run_before_it_starts(string option, string value) =>
        Assert.Throws<RunnerException>(() => Read([option, value]));

    [Fact]
    public void The_one_core_mode_needs_two_different_cpus() =>
        Assert.Throws<RunnerException>(() => Read(["--mode", "one-core", "--app-cpu", "1", "--load-cpu", "1"]));

    [Fact]
    public void One_core_rounds_are_short_and_many_unless_told_otherwise()
    {
        var defaults = Read(["--mode", "one-core"]);
        Assert.Equal(4, defaults.RoundSeconds);
        Assert.Equal(45, defaults.MaxRounds);

        var given = Read(["--mode", "one-core", "--round-seconds", "10", "--max-rounds", "15"]);
        Assert.Equal(10, given.RoundSeconds);
        Assert.Equal(15, given.MaxRounds);
        Assert.Contains("--max-rounds 15 --round-seconds 10", given.CommandLine, StringComparison.Ordinal);
        Assert.Throws<RunnerException>(() => Read(["--mode", "one-core", "--round-seconds", "0"]));
    }

    [Fact]
    public void The_command_line_that_reproduces_a_run_names_what_was_given()
    {
        var settings = Read(["--scenarios", "overhead", "--mode", "one-core", "--scale-connections", "64 512"]);

        Assert.Equal(
            "loadtests/run.sh --mode one-core --scenarios overhead --duration 10 --rounds 5 --warmup 2 --settle 3 --max-rounds 45 --round-seconds 4 --scale-connections \"64 512\"",
            settings.CommandLine);
    }
}
