namespace Coalesce.L2Load.Tests;

public sealed class RedisRepliesTests
{
    [Fact]
    public void Cpu_seconds_are_system_plus_user_from_an_info_cpu_reply()
    {
        const string reply = "$230\r\n# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:2.500000\r\nused_cpu_sys_children:9.000000\r\nused_cpu_user_children:9.000000\r\nused_cpu_sys_main_thread:1.000000\r\n\r\n";

        Assert.Equal(3.75, RedisReplies.CpuSeconds(reply), 6);
    }

    [Fact]
    public void An_info_reply_without_cpu_figures_is_refused_showing_it()
    {
        var error = Assert.Throws<FormatException>(() => RedisReplies.CpuSeconds("-ERR unknown command\r\n"));

        Assert.Contains("-ERR unknown command", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(":0\r\n", 0)]
    [InlineData(":13262\r\n", 13_262)]
    public void An_integer_reply_is_read(string reply, long value)
    {
        Assert.Equal(value, RedisReplies.Integer(reply));
    }

    [Theory]
    [InlineData("-ERR wrong number of arguments\r\n")]
    [InlineData(":\r\n")]
    [InlineData(":12")]
    [InlineData("+OK\r\n")]
    public void Anything_else_is_refused_showing_the_reply(string reply)
    {
        var error = Assert.Throws<FormatException>(() => RedisReplies.Integer(reply));

        Assert.Contains(reply, error.Message, StringComparison.Ordinal);
    }
}
