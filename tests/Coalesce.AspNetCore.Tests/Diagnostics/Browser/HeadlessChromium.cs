using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Coalesce.AspNetCore.Tests.Diagnostics.Browser;

/// <summary>
/// A headless Chromium with its DevTools endpoint on a loopback port the OS chose, in a profile of its own. Disposing
/// kills it (and its helper processes) and deletes the profile, also when the test failed.
/// </summary>
internal sealed partial class HeadlessChromium : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly string _profile;

    private HeadlessChromium(Process process, string profile, Uri devTools)
    {
        _process = process;
        _profile = profile;
        DevTools = devTools;
    }

    /// <summary>The DevTools HTTP endpoint, such as <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri DevTools { get; }

    public static async Task<HeadlessChromium> StartAsync(int width, int height)
    {
        var path = ChromiumInstaller.BrowserPath;
        var profile = Directory.CreateTempSubdirectory("coalesce-chromium-").FullName;
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", $"--user-data-dir={profile}",
            $"--window-size={width},{height}", "about:blank",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line && DevToolsLine().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(new Uri($"http://127.0.0.1:{match.Groups[1].Value}/"));
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException($"chromium exited with {process.ExitCode} before its DevTools endpoint listened."));
        try
        {
            process.Start();
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var devTools = await listening.Task.WaitAsync(StartTimeout);
            return new HeadlessChromium(process, profile, devTools);
        }
        catch
        {
            Stop(process, profile);
            throw;
        }
    }

    /// <summary>The DevTools WebSocket of the browser's first page (the <c>about:blank</c> it opened with).</summary>
    public async Task<Uri> FirstPageAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = DevTools };
        var targets = await http.GetFromJsonAsync<JsonElement>("json/list", cancellationToken);
        var page = targets.EnumerateArray().First(t => t.GetProperty("type").GetString() == "page");
        return new Uri(page.GetProperty("webSocketDebuggerUrl").GetString()!);
    }

    public ValueTask DisposeAsync()
    {
        Stop(_process, _profile);
        return ValueTask.CompletedTask;
    }

    private static void Stop(Process process, string profile)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Never started: nothing to stop.
        }
        finally
        {
            process.Dispose();
            try
            {
                Directory.Delete(profile, recursive: true);
            }
            catch (IOException)
            {
                // A helper process may still hold a file for a moment; the temporary folder is the OS's to clean then.
            }
        }
    }

    [GeneratedRegex(@"DevTools listening on ws://127\.0\.0\.1:(\d+)/")]
    private static partial Regex DevToolsLine();
}
