extern alias QuickStart;

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Coalesce.AspNetCore.Tests.Sample;

/// <summary>
/// The README's first example is samples/QuickStart/Program.cs, a `dotnet new web` app: the two must stay
/// identical, and the app must do what the README says.
/// </summary>
public sealed partial class QuickStartTests
{
    [Fact]
    public void The_readmes_first_code_block_is_the_quick_start_program_verbatim()
    {
        var readme = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "README.md"));
        var program = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "QuickStart.Program.cs.txt"));

        var firstBlock = FirstCSharpBlock().Match(readme);

        Assert.True(firstBlock.Success, "The README has no ```csharp block.");
        Assert.Equal(Normalize(program), Normalize(firstBlock.Groups["code"].Value));
    }

    [Fact]
    public async Task The_quick_start_coalesces_memoizes_invalidates_and_reports_stats()
    {
        await using var factory = new WebApplicationFactory<QuickStart::Program>();
        using var client = factory.CreateClient();
        client.Timeout = TestApp.Patience;

        var reads = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => client.GetStringAsync("/products/1")));
        Assert.All(reads, body => Assert.Contains("Widget", body, StringComparison.Ordinal));

        using (var put = await client.PutAsJsonAsync("/products/1", new { name = "Gadget", price = 19.99m }))
        {
            Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        }

        Assert.Contains("Gadget", await client.GetStringAsync("/products/1"), StringComparison.Ordinal);
        using var stats = await client.GetAsync("/_coalesce/stats");
        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
        using var json = JsonDocument.Parse(await stats.Content.ReadAsStringAsync());
        var requests = json.RootElement.GetProperty("requests");
        Assert.Equal(2, requests.GetProperty("misses").GetInt64());
        Assert.Equal(49, requests.GetProperty("hits").GetInt64());
    }

    private static string Normalize(string code) => string.Join('\n', code.ReplaceLineEndings("\n").Trim().Split('\n').Select(l => l.TrimEnd()));

    [GeneratedRegex("```csharp\\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex FirstCSharpBlock();
}
