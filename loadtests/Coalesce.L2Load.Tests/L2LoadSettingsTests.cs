namespace Coalesce.L2Load.Tests;

public sealed class L2LoadSettingsTests
{
    [Fact]
    public void No_arguments_give_the_defaults_of_the_brief()
    {
        var settings = L2LoadSettings.Parse([]);

        Assert.Equal(new L2LoadSettings(64, 10_000, 10, 1024, 4096, 3, TimeSpan.FromSeconds(10)), settings);
    }

    [Fact]
    public void Each_option_is_read()
    {
        var settings = L2LoadSettings.Parse(
            ["--workers", "8", "--keys", "500", "--set-percent", "25", "--min-bytes", "10", "--max-bytes", "20", "--rounds", "2", "--seconds", "5"]);

        Assert.Equal(new L2LoadSettings(8, 500, 25, 10, 20, 2, TimeSpan.FromSeconds(5)), settings);
    }

    [Fact]
    public void The_command_line_reproduces_the_settings()
    {
        var settings = new L2LoadSettings(8, 500, 25, 10, 20, 2, TimeSpan.FromSeconds(5));

        var command = settings.CommandLine();
        var args = command[(command.IndexOf(" -- ", StringComparison.Ordinal) + 4)..].Split(' ');

        Assert.StartsWith("dotnet run -c Release --project loadtests/Coalesce.L2Load -- ", command, StringComparison.Ordinal);
        Assert.Equal(settings, L2LoadSettings.Parse(args));
    }

    [Theory]
    [InlineData(new[] { "--workers", "many" }, "--workers must be a whole number, not 'many'.")]
    [InlineData(new[] { "--workers", "0" }, "--workers must be between 1 and 10000, not 0.")]
    [InlineData(new[] { "--set-percent", "101" }, "--set-percent must be between 0 and 100, not 101.")]
    [InlineData(new[] { "--keys" }, "--keys needs a value.")]
    [InlineData(new[] { "--min-bytes", "5000" }, "--min-bytes (5000) is larger than --max-bytes (4096).")]
    public void Bad_input_is_refused_naming_the_option(string[] args, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => L2LoadSettings.Parse(args));

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void An_unknown_option_is_refused_with_the_usage()
    {
        var error = Assert.Throws<ArgumentException>(() => L2LoadSettings.Parse(["--shards", "3"]));

        Assert.StartsWith("Unknown option '--shards'.", error.Message, StringComparison.Ordinal);
        Assert.Contains("--set-percent N", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Value_sizes_stay_within_the_bounds_spread_over_them_and_repeat()
    {
        var settings = L2LoadSettings.Default;

        var sizes = Enumerable.Range(0, 10_000).Select(settings.ValueBytes).ToArray();

        Assert.All(sizes, size => Assert.InRange(size, 1024, 4096));
        Assert.True(sizes.Count(size => size < 2048) > 2_500, "about a third of the sizes fall in the first third");
        Assert.True(sizes.Count(size => size > 3072) > 2_500, "about a third of the sizes fall in the last third");
        Assert.Equal(sizes, Enumerable.Range(0, 10_000).Select(settings.ValueBytes));
        Assert.Equal(7, (settings with { MinBytes = 7, MaxBytes = 7 }).ValueBytes(12345));
    }
}
