using System.Diagnostics;
using System.Globalization;

namespace Coalesce.LoadTestApp;

/// <summary>
/// The client of the scale-out scenario's invalidation measurement (<c>--probe</c>; no web server starts). For each
/// write: reads the item on every instance (so the readers hold the current version memoized), then sends
/// <c>PUT /scaleout/item/{id}</c> to the writer while each reader polls its <c>GET</c> (a ~1 ms pause between
/// polls) until it answers the new version. It times, from the moment the PUT is sent, the PUT's 2xx (with
/// read-your-writes, sent after every live instance evicted the tag) and the first fresh answer of each reader (its
/// end, and when that poll was sent: the reader had evicted by then), and
/// counts the reads that started after the PUT's 2xx and still answered the old version (goal: 0).
/// Every request carries the Host header given with <c>--host</c>. Prints one <c>PROBE_RESULT key=value ...</c> line.
/// </summary>
internal static class InvalidationProbe
{
    private static readonly TimeSpan Give = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(IConfiguration configuration)
    {
        var hosts = (configuration["probe"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);
        var writes = configuration.GetValue("writes", 200);
        var firstId = configuration.GetValue("first-id", 1);
        var ids = configuration.GetValue("ids", 10);
        // The first writes warm the client and the instances up (JIT, connections); they are not measured.
        var warmups = configuration.GetValue("warmup-writes", 10);
        if (hosts.Length < 2)
        {
            Console.Error.WriteLine("--probe needs the writer's base URL and at least one reader's, comma-separated.");
            return 2;
        }

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 4 }) { Timeout = TimeSpan.FromSeconds(10) };
        // The instances stand behind one name, as behind a load balancer: the Host header is part of the key.
        if (configuration["host"] is { Length: > 0 } hostName)
        {
            client.DefaultRequestHeaders.Host = hostName;
        }

        var writer = hosts[0];
        var readers = hosts[1..];
        var fresh = new List<double>();
        var freshSent = new List<double>();
        var acks = new List<double>();
        long staleAfterAck = 0, timeouts = 0, staleBefore = 0, errors = 0, polls = 0;

        for (var i = -warmups; i < writes; i++)
        {
            var measured = i >= 0;
            var id = firstId + ((i + warmups) % ids);
            var path = $"/scaleout/item/{id}";

            // Every instance holds the current version before the write.
            long before = -1;
            foreach (var host in hosts)
            {
                var version = await ReadVersionAsync(client, host + path);
                if (version is null)
                {
                    errors += measured ? 1 : 0;
                    continue;
                }

                if (measured && before >= 0 && version != before)
                {
                    staleBefore++;
                }

                before = Math.Max(before, version.Value);
            }

            var started = Stopwatch.GetTimestamp();
            long ackedAt = 0;
            var put = Task.Run(async () =>
            {
                using var response = await client.PutAsync(writer + path, null);
                Volatile.Write(ref ackedAt, Stopwatch.GetTimestamp());
                return response.IsSuccessStatusCode ? ParseVersion(await response.Content.ReadAsStringAsync()) : null;
            });

            var polling = readers.Select(reader => Task.Run(async () =>
            {
                var stale = 0L;
                var count = 0L;
                while (Stopwatch.GetElapsedTime(started) < Give)
                {
                    var sentAt = Stopwatch.GetTimestamp();
                    var acked = Volatile.Read(ref ackedAt);
                    var version = await ReadVersionAsync(client, reader + path);
                    count++;
                    if (version > before)
                    {
                        return (FreshMs: Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                            SentMs: Stopwatch.GetElapsedTime(started, sentAt).TotalMilliseconds, Stale: stale, Polls: count);
                    }

                    if (version is not null && acked != 0 && acked <= sentAt)
                    {
                        stale++;
                    }

                    await Task.Delay(1);
                }

                return (FreshMs: double.NaN, SentMs: double.NaN, Stale: stale, Polls: count);
            })).ToArray();

            long? written;
            try
            {
                written = await put;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                written = null;
            }

            if (!measured)
            {
                await Task.WhenAll(polling);
                continue;
            }

            if (written is null)
            {
                errors++;
            }
            else
            {
                acks.Add(Stopwatch.GetElapsedTime(started, Volatile.Read(ref ackedAt)).TotalMilliseconds);
            }

            foreach (var result in await Task.WhenAll(polling))
            {
                polls += result.Polls;
                staleAfterAck += result.Stale;
                if (double.IsNaN(result.FreshMs))
                {
                    timeouts++;
                }
                else
                {
                    fresh.Add(result.FreshMs);
                    freshSent.Add(result.SentMs);
                }
            }
        }

        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"PROBE_RESULT writes={writes} samples={fresh.Count} p50_us={Us(fresh, 50)} p90_us={Us(fresh, 90)} p99_us={Us(fresh, 99)} max_us={Us(fresh, 100)} " +
            $"sent_p50_us={Us(freshSent, 50)} sent_p99_us={Us(freshSent, 99)} ack_p50_us={Us(acks, 50)} ack_p99_us={Us(acks, 99)} stale_after_ack={staleAfterAck} stale_before={staleBefore} timeouts={timeouts} errors={errors} polls={polls}"));
        return 0;
    }

    private static async Task<long?> ReadVersionAsync(HttpClient client, string url)
    {
        try
        {
            using var response = await client.GetAsync(url);
            return response.IsSuccessStatusCode ? ParseVersion(await response.Content.ReadAsStringAsync()) : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>The version in an answer such as <c>id=3 version=17</c>.</summary>
    private static long? ParseVersion(string body)
    {
        var at = body.IndexOf("version=", StringComparison.Ordinal);
        return at >= 0 && long.TryParse(body.AsSpan(at + 8).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
    }

    /// <summary>The nearest-rank percentile, in whole microseconds (0 without samples).</summary>
    private static long Us(List<double> samples, int percentile)
    {
        if (samples.Count == 0)
        {
            return 0;
        }

        var sorted = samples.Order().ToArray();
        var rank = Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Length) - 1, 0, sorted.Length - 1);
        return (long)(sorted[rank] * 1000);
    }
}
