namespace Coalesce.Tests.SingleFlight;

public sealed class SharedCallTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Concurrent_callers_of_one_key_share_one_execution()
    {
        var shared = new SharedCall();
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var executions = 0;

        var callers = Enumerable.Range(0, 300)
            .Select(_ => Task.Run(() => shared.CallAsync("k", _ =>
            {
                Interlocked.Increment(ref executions);
                return gate.Task;
            })))
            .ToArray();

        await WaitUntil(() => shared.GetStats().Hits + shared.GetStats().Misses == 300);
        gate.SetResult(42);
        var results = await Task.WhenAll(callers).WaitAsync(Patience);

        Assert.Equal(1, executions);
        Assert.All(results, r => Assert.Equal(42, r));
        var stats = shared.GetStats();
        Assert.Equal(new SharedCallStats(Hits: 299, Misses: 1, Errors: 0, Active: 0), stats);
        Assert.Equal(299d / 300d, stats.HitRate, 10);
    }

    [Fact]
    public async Task Different_keys_never_share()
    {
        var shared = new SharedCall();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var a = shared.CallAsync("a", async _ => { await gate.Task; return "a"; });
        var b = shared.CallAsync("b", async _ => { await gate.Task; return "b"; });
        gate.SetResult();

        Assert.Equal("a", await a);
        Assert.Equal("b", await b);
        Assert.Equal(2, shared.GetStats().Misses);
        Assert.Equal(0, shared.GetStats().Hits);
    }

    [Fact]
    public async Task An_exception_reaches_every_waiter_counts_once_and_is_not_kept()
    {
        var shared = new SharedCall();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var executions = 0;
        var failure = new InvalidOperationException("database down");

        var callers = Enumerable.Range(0, 50)
            .Select(_ => shared.CallAsync<int>("k", async _ =>
            {
                Interlocked.Increment(ref executions);
                await gate.Task;
                throw failure;
            }))
            .ToArray();
        gate.SetResult();

        foreach (var caller in callers)
        {
            var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => caller);
            Assert.Same(failure, thrown);
        }

        Assert.Equal(1, executions);
        Assert.Equal(new SharedCallStats(Hits: 49, Misses: 1, Errors: 1, Active: 0), shared.GetStats());

        Assert.Equal(7, await shared.CallAsync("k", _ => Task.FromResult(7)));
        Assert.Equal(2, shared.GetStats().Misses);
    }

    [Fact]
    public async Task A_synchronously_throwing_function_fails_the_flight_without_leaving_it_in_flight()
    {
        var shared = new SharedCall();

        await Assert.ThrowsAsync<FormatException>(() => shared.CallAsync<int>("k", _ => throw new FormatException()));

        Assert.Equal(0, shared.InFlightCount);
        Assert.Equal(new SharedCallStats(0, 1, 1, 0), shared.GetStats());
    }

    [Fact]
    public async Task Bookkeeping_is_done_before_waiters_are_released()
    {
        var shared = new SharedCall();
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var observed = new List<(int InFlight, long Active, long Errors)>();

        async Task Observe(Task<int> call)
        {
            try { await call; } catch (InvalidOperationException) { }
            lock (observed) { observed.Add((shared.InFlightCount, shared.GetStats().Active, shared.GetStats().Errors)); }
        }

        var watchers = Enumerable.Range(0, 20).Select(_ => Observe(shared.CallAsync("k", _ => gate.Task))).ToArray();
        gate.SetException(new InvalidOperationException());
        await Task.WhenAll(watchers);

        Assert.All(observed, o => Assert.Equal((0, 0L, 1L), o));
    }

    [Fact]
    public async Task A_cancelled_caller_leaves_alone_and_the_others_get_the_result()
    {
        var shared = new SharedCall();
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        CancellationToken workToken = default;
        using var leaving = new CancellationTokenSource();

        var leader = shared.CallAsync("k", ct => { workToken = ct; return gate.Task; }, leaving.Token);
        var staying = shared.CallAsync("k", _ => gate.Task);
        using var otherCts = new CancellationTokenSource();
        var stayingCancellable = shared.CallAsync("k", _ => gate.Task, otherCts.Token);

        await leaving.CancelAsync();
        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leader);
        Assert.Equal(leaving.Token, cancelled.CancellationToken);
        Assert.False(workToken.IsCancellationRequested);

        gate.SetResult(5);
        Assert.Equal(5, await staying);
        Assert.Equal(5, await stayingCancellable);
    }

    [Fact]
    public async Task The_work_is_cancelled_only_when_every_caller_has_left_and_a_new_caller_starts_fresh()
    {
        var shared = new SharedCall();
        var workCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = 0;
        using var first = new CancellationTokenSource();
        using var second = new CancellationTokenSource();

        async Task<int> Work(CancellationToken ct)
        {
            Interlocked.Increment(ref started);
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                workCancelled.TrySetResult();
                throw;
            }

            return 0;
        }

        var a = shared.CallAsync("k", Work, first.Token);
        var b = shared.CallAsync("k", Work, second.Token);

        await first.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a);
        Assert.False(workCancelled.Task.IsCompleted);

        await second.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => b);
        await workCancelled.Task.WaitAsync(Patience);

        var fresh = await shared.CallAsync("k", _ => Task.FromResult(9));
        Assert.Equal(9, fresh);
        Assert.Equal(1, started);
        Assert.Equal(2, shared.GetStats().Misses);
        Assert.Equal(0, shared.GetStats().Errors);
        await WaitUntil(() => shared.GetStats().Active == 0);
    }

    [Fact]
    public async Task A_caller_that_cannot_cancel_keeps_the_work_alive()
    {
        var shared = new SharedCall();
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var workToken = CancellationToken.None;
        using var cts = new CancellationTokenSource();

        var leader = shared.CallAsync("k", ct => { workToken = ct; return gate.Task; }, cts.Token);
        var steadfast = shared.CallAsync("k", _ => gate.Task);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leader);

        Assert.False(workToken.IsCancellationRequested);
        gate.SetResult(3);
        Assert.Equal(3, await steadfast);
    }

    [Fact]
    public async Task An_already_cancelled_token_returns_a_cancelled_task_and_starts_nothing()
    {
        var shared = new SharedCall();
        var started = false;

        var call = shared.CallAsync("k", _ => { started = true; return Task.FromResult(1); }, new CancellationToken(canceled: true));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.False(started);
        Assert.Equal(default, shared.GetStats());
    }

    [Fact]
    public async Task Forget_detaches_the_flight_its_waiters_still_get_their_result_and_the_next_caller_starts_anew()
    {
        var shared = new SharedCall();
        var firstGate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondGate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);

        var first = shared.CallAsync("k", _ => firstGate.Task);
        var joined = shared.CallAsync("k", _ => secondGate.Task);

        Assert.True(shared.Forget("k"));
        Assert.False(shared.Forget("k"));
        var second = shared.CallAsync("k", _ => secondGate.Task);

        firstGate.SetResult("old");
        secondGate.SetResult("new");
        Assert.Equal("old", await first);
        Assert.Equal("old", await joined);
        Assert.Equal("new", await second);
        Assert.Equal(2, shared.GetStats().Misses);
        Assert.Equal(0, shared.GetStats().Active);
    }

    [Fact]
    public async Task ForgetAll_detaches_every_flight()
    {
        var shared = new SharedCall();
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = Enumerable.Range(0, 10).Select(i => shared.CallAsync($"k{i}", _ => gate.Task)).ToArray();

        shared.ForgetAll();
        Assert.Equal(0, shared.InFlightCount);
        var fresh = shared.CallAsync("k0", _ => Task.FromResult(-1));

        gate.SetResult(1);
        Assert.All(await Task.WhenAll(calls), r => Assert.Equal(1, r));
        Assert.Equal(-1, await fresh);
        Assert.Equal(11, shared.GetStats().Misses);
        Assert.Equal(0, shared.GetStats().Active);
    }

    [Fact]
    public async Task Stats_stay_consistent_under_heavy_concurrency_over_many_keys_and_reset_zeroes_them()
    {
        var shared = new SharedCall();
        const int Keys = 25;
        const int CallsPerKey = 40;
        var executions = 0;
        var failures = 0;

        var tasks = Enumerable.Range(0, Keys * CallsPerKey).Select(i => Task.Run(async () =>
        {
            var key = $"key-{i % Keys}";
            try
            {
                return await shared.CallAsync(key, async _ =>
                {
                    var n = Interlocked.Increment(ref executions);
                    await Task.Yield();
                    if (n % 7 == 0)
                    {
                        Interlocked.Increment(ref failures);
                        throw new InvalidOperationException(key);
                    }

                    return key;
                });
            }
            catch (InvalidOperationException ex)
            {
                return ex.Message;
            }
        })).ToArray();

        var results = await Task.WhenAll(tasks).WaitAsync(Patience);

        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal($"key-{i % Keys}", results[i]);
        }

        var stats = shared.GetStats();
        Assert.Equal(Keys * CallsPerKey, stats.Hits + stats.Misses);
        Assert.Equal(executions, stats.Misses);
        Assert.Equal(failures, stats.Errors);
        Assert.Equal(0, stats.Active);
        Assert.Equal(0, shared.InFlightCount);

        shared.ResetStats();
        Assert.Equal(default, shared.GetStats());
        Assert.Equal(0d, shared.GetStats().HitRate);
    }

    [Fact]
    public async Task Active_counts_flights_in_progress()
    {
        var shared = new SharedCall();
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);

        var calls = new[] { "a", "b", "c" }.Select(k => shared.CallAsync(k, _ => gate.Task)).ToArray();
        Assert.Equal(3, shared.GetStats().Active);

        gate.SetResult(0);
        await Task.WhenAll(calls);
        Assert.Equal(0, shared.GetStats().Active);
    }

    [Fact]
    public void Synchronous_callers_on_many_threads_share_one_execution()
    {
        var shared = new SharedCall();
        const int Threads = 16;
        using var allArrived = new CountdownEvent(Threads - 1);
        var executions = 0;
        var results = new int[Threads];

        var leaderStarted = new ManualResetEventSlim();
        var threads = Enumerable.Range(0, Threads).Select(i => new Thread(() =>
        {
            if (i > 0)
            {
                leaderStarted.Wait();
            }

            results[i] = shared.Call("k", () =>
            {
                Interlocked.Increment(ref executions);
                leaderStarted.Set();
                // Hold the flight open until every other thread has joined it.
                SpinWait.SpinUntil(() => shared.GetStats().Hits == Threads - 1, Patience);
                return 11;
            });
        })).ToArray();

        foreach (var t in threads) { t.Start(); }
        foreach (var t in threads) { Assert.True(t.Join(Patience)); }

        Assert.Equal(1, executions);
        Assert.All(results, r => Assert.Equal(11, r));
        Assert.Equal(new SharedCallStats(Threads - 1, 1, 0, 0), shared.GetStats());
        leaderStarted.Dispose();
    }

    [Fact]
    public void A_synchronous_failure_reaches_every_synchronous_waiter()
    {
        var shared = new SharedCall();
        const int Threads = 8;
        var leaderStarted = new ManualResetEventSlim();
        var errors = new Exception?[Threads];

        var threads = Enumerable.Range(0, Threads).Select(i => new Thread(() =>
        {
            if (i > 0) { leaderStarted.Wait(); }
            try
            {
                shared.Call<int>("k", () =>
                {
                    leaderStarted.Set();
                    SpinWait.SpinUntil(() => shared.GetStats().Hits == Threads - 1, Patience);
                    throw new TimeoutException("slow disk");
                });
            }
            catch (Exception ex)
            {
                errors[i] = ex;
            }
        })).ToArray();

        foreach (var t in threads) { t.Start(); }
        foreach (var t in threads) { Assert.True(t.Join(Patience)); }

        Assert.All(errors, e => Assert.IsType<TimeoutException>(e));
        Assert.Equal(1, shared.GetStats().Errors);
        Assert.Equal(0, shared.InFlightCount);
        leaderStarted.Dispose();
    }

    [Fact]
    public void Synchronous_Call_refuses_task_results_because_it_would_share_only_the_task_creation()
    {
        var shared = new SharedCall();

        var error = Assert.Throws<ArgumentException>(() => { _ = shared.Call("k", () => Task.FromResult(1)); });

        Assert.Equal("fn", error.ParamName);
        Assert.Contains("CallAsync", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => { _ = shared.Call("k", () => ValueTask.FromResult(1)).AsTask(); });
    }

    [Fact]
    public async Task Bad_input_is_rejected_naming_the_parameter()
    {
        var shared = new SharedCall();

        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => { _ = shared.CallAsync(null!, _ => Task.FromResult(1)); }).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentException>(() => { _ = shared.CallAsync("", _ => Task.FromResult(1)); }).ParamName);
        Assert.Equal("fn", Assert.Throws<ArgumentNullException>(() => { _ = shared.CallAsync<int>("k", null!); }).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentException>(() => shared.Call("", () => 1)).ParamName);
        Assert.Equal("fn", Assert.Throws<ArgumentNullException>(() => shared.Call<int>("k", null!)).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => shared.Forget(null!)).ParamName);
        Assert.Equal(0, shared.InFlightCount);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task One_key_with_two_result_types_at_once_is_a_clear_InvalidOperationException()
    {
        var shared = new SharedCall();
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = shared.CallAsync("k", _ => gate.Task);

        var error = Assert.Throws<InvalidOperationException>(() => { _ = shared.CallAsync("k", _ => Task.FromResult("text")); });

        Assert.Contains("'k'", error.Message, StringComparison.Ordinal);
        Assert.Contains("System.Int32", error.Message, StringComparison.Ordinal);
        Assert.Contains("System.String", error.Message, StringComparison.Ordinal);
        gate.SetResult(1);
        Assert.Equal(1, await running);
        Assert.Equal("text", await shared.CallAsync("k", _ => Task.FromResult("text")));
    }

    [Fact]
    public async Task Group_coalesces_calls_with_equal_arguments_and_keeps_distinct_ones_apart()
    {
        var shared = new SharedCall();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var executions = new List<int>();

        var fetchUser = shared.Group<int, string>(async (id, _) =>
        {
            lock (executions) { executions.Add(id); }
            await gate.Task;
            return $"user-{id}";
        });

        var calls = new[] { 1, 1, 2, 1, 2 }.Select(id => fetchUser(id, default)).ToArray();
        gate.SetResult();

        Assert.Equal(["user-1", "user-1", "user-2", "user-1", "user-2"], await Task.WhenAll(calls));
        Assert.Equal([1, 2], executions.Order());
    }

    [Fact]
    public async Task Group_key_function_chooses_what_coalesces()
    {
        var shared = new SharedCall();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var executions = 0;

        var fetch = shared.Group<int, DateTime, int>(
            async (id, _, _) => { Interlocked.Increment(ref executions); await gate.Task; return id; },
            (id, _) => $"user:{id}");

        var a = fetch(4, DateTime.MinValue, default);
        var b = fetch(4, DateTime.MaxValue, default);
        gate.SetResult();

        Assert.Equal(4, await a);
        Assert.Equal(4, await b);
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task Group_default_keys_keep_ambiguous_argument_texts_apart()
    {
        var shared = new SharedCall();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var concat = shared.Group<string, string, string>(async (a, b, _) => { await gate.Task; return a + "|" + b; });

        var first = concat("a,b", "c", default);
        var second = concat("a", "b,c", default);
        gate.SetResult();

        Assert.Equal("a,b|c", await first);
        Assert.Equal("a|b,c", await second);
    }

    [Fact]
    public void Group_without_key_function_refuses_argument_types_without_an_exact_text_form()
    {
        var shared = new SharedCall();

        var error = Assert.Throws<ArgumentException>(() => shared.Group<object, int>((_, _) => Task.FromResult(1)));

        Assert.Equal("keyFn", error.ParamName);
        Assert.Contains("System.Object", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Group_key_function_that_throws_reaches_the_caller_and_nothing_stays_in_flight()
    {
        var shared = new SharedCall();
        var fetch = shared.Group<int, int>((id, _) => Task.FromResult(id), _ => throw new FormatException("bad key"));

        await Assert.ThrowsAsync<FormatException>(() => fetch(1, default));
        Assert.Equal(0, shared.InFlightCount);

        var nullKey = shared.Group<int, int>((id, _) => Task.FromResult(id), _ => null!);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => nullKey(1, default));
        Assert.Contains("returned null or an empty key", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, shared.InFlightCount);
    }

    [Fact]
    public async Task Synchronous_group_coalesces_and_parameterless_group_uses_the_function_name()
    {
        var shared = new SharedCall();
        var square = shared.Group<int, int>(x => x * x);
        Assert.Equal(49, square(7));

        var load = shared.Group(_ => Task.FromResult("config"));
        Assert.Equal("config", await load(default));
        Assert.Equal(2, shared.GetStats().Misses);
    }

    [Fact]
    public async Task A_led_flight_is_settled_by_its_leader_once_frees_its_key_first_and_is_what_its_followers_join()
    {
        var shared = new SharedCall();
        var leader = new TestFlight("k");
        Assert.True(shared.TryLead(leader, out var running));
        Assert.Same(leader, running);

        var followers = Enumerable.Range(0, 100).Select(_ =>
        {
            Assert.False(shared.TryLead(new TestFlight("k"), out var joined));
            Assert.Same(leader, joined);
            return joined.Outcome;
        }).ToArray();

        var keyFreeWhenReleased = leader.Outcome.ContinueWith(_ => shared.InFlightCount == 0, TaskScheduler.Default);
        Assert.False(leader.IsSettled);
        Assert.True(leader.TrySucceed(42));
        Assert.True(leader.IsSettled);
        Assert.False(leader.TrySucceed(43));
        Assert.False(leader.TryFail(new InvalidOperationException("late")));

        Assert.All(await Task.WhenAll(followers).WaitAsync(Patience), v => Assert.Equal(42, v));
        Assert.True(await keyFreeWhenReleased.WaitAsync(Patience));
        Assert.Equal(42, await leader.Outcome.WaitAsync(Patience));
        Assert.Equal(new SharedCallStats(Hits: 0, Misses: 0, Errors: 0, Active: 0), shared.GetStats()); // (counted by their leaders)

        var next = new TestFlight("k");
        Assert.True(shared.TryLead(next, out _));
        Assert.True(next.TryFail(new InvalidOperationException("down")));
        await Assert.ThrowsAsync<InvalidOperationException>(() => next.Outcome.WaitAsync(Patience));
        Assert.Equal(0, shared.InFlightCount);
    }

    [Fact]
    public async Task Followers_racing_the_leaders_settling_all_get_its_outcome_though_nobody_made_the_task_before()
    {
        // The task followers wait on is made by the first who asks; the leader may be settling on another core at
        // that very moment. Whoever is late, every follower must see the outcome.
        var shared = new SharedCall();
        for (var round = 0; round < 200; round++)
        {
            var leader = new TestFlight("k" + round);
            Assert.True(shared.TryLead(leader, out _));
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var key = "k" + round;
            var followers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                await go.Task;
                if (shared.TryLead(new TestFlight(key), out var joined))
                {
                    // Too late to join: it led a flight of its own, which it settles.
                    ((TestFlight)joined).TrySucceed(-1);
                    return -1;
                }

                return await joined.Outcome;
            })).ToArray();

            go.SetResult();
            Assert.True(leader.TrySucceed(round));
            foreach (var follower in followers)
            {
                var outcome = await follower.WaitAsync(Patience);
                Assert.True(outcome == round || outcome == -1, $"round {round}: a follower got {outcome}");
            }
        }

        Assert.Equal(0, shared.InFlightCount);
    }

    [Fact]
    public async Task A_follower_only_joins_a_led_flight_and_never_starts_one()
    {
        var shared = new SharedCall();
        Assert.False(shared.TryFollow<int>("k", out _));
        Assert.Equal(0, shared.InFlightCount);

        var leader = new TestFlight("k");
        Assert.True(shared.TryLead(leader, out _));
        Assert.True(shared.TryFollow<int>("k", out var joined));
        Assert.Same(leader, joined);
        leader.TrySucceed(7);
        Assert.Equal(7, await joined.Outcome.WaitAsync(Patience));
        Assert.False(shared.TryFollow<int>("k", out _));
    }

    [Fact]
    public async Task A_key_in_flight_with_another_result_type_cannot_be_led_and_says_why()
    {
        var shared = new SharedCall();
        var gate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var call = shared.CallAsync("k", _ => gate.Task);

        var error = Assert.Throws<InvalidOperationException>(() => shared.TryLead(new TestFlight("k"), out _));
        Assert.Contains("'k'", error.Message, StringComparison.Ordinal);
        Assert.Contains("System.String", error.Message, StringComparison.Ordinal);
        gate.SetResult("done");
        Assert.Equal("done", await call.WaitAsync(Patience));
    }

    [Fact]
    public void Detaching_a_led_flight_leaves_a_newer_one_for_its_key_alone()
    {
        var shared = new SharedCall();
        var first = new TestFlight("k");
        Assert.True(shared.TryLead(first, out _));
        Assert.True(shared.Detach(first));

        var second = new TestFlight("k");
        Assert.True(shared.TryLead(second, out _));
        Assert.False(shared.Detach(first));
        Assert.Equal(1, shared.InFlightCount);
        Assert.True(first.TrySucceed(1));
        Assert.Equal(1, shared.InFlightCount);
        Assert.True(second.TrySucceed(2));
        Assert.Equal(0, shared.InFlightCount);
    }

    /// <summary>
    /// 256 tasks released together make random moves over a few keys: call (and sometimes leave by cancelling, or fail),
    /// lead a flight they settle themselves, or follow one. Checked on every move: a caller gets its own key's result, an
    /// error of its own key's work, or its own cancellation, never another's; a follower gets the outcome of the flight it
    /// joined; and at the end nothing is in flight and the statistics add up.
    /// </summary>
    [Fact]
    public async Task Random_joins_leaves_cancellations_and_failures_from_hundreds_of_tasks_keep_every_promise()
    {
        const int Tasks = 256;
        const int MovesPerTask = 200;
        var shared = new SharedCall();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var calls = 0L;
        using var start = new Barrier(Tasks);

        void Fail(string what)
        {
            if (failures.Count < 20)
            {
                failures.Enqueue(what);
            }
        }

        var tasks = Enumerable.Range(0, Tasks).Select(t => Task.Factory.StartNew(
            async () =>
            {
                var random = new Random(t);
                start.SignalAndWait();
                for (var move = 0; move < MovesPerTask; move++)
                {
                    var k = random.Next(12);
                    if (random.Next(3) == 0)
                    {
                        // A flight its leader settles: with a value of its own (the flight's hash), or an error.
                        var candidate = new TestFlight("led-" + k);
                        if (shared.TryLead(candidate, out var running))
                        {
                            await Task.Yield();
                            var settled = random.Next(8) == 0
                                ? candidate.TryFail(new InvalidOperationException(candidate.Key))
                                : candidate.TrySucceed(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(candidate));
                            if (!settled)
                            {
                                Fail($"the leader of {candidate.Key} could not settle its flight");
                            }

                            continue;
                        }

                        try
                        {
                            var outcome = await running.Outcome.WaitAsync(Patience);
                            if (outcome != System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(running))
                            {
                                Fail($"a follower of {running.Key} got another flight's outcome");
                            }
                        }
                        catch (InvalidOperationException ex) when (ex.Message == running.Key)
                        {
                        }

                        continue;
                    }

                    var key = "call-" + k;
                    using var leave = new CancellationTokenSource();
                    Interlocked.Increment(ref calls);
                    var call = shared.CallAsync(key, async token =>
                    {
                        await Task.Yield();
                        token.ThrowIfCancellationRequested();
                        return Random.Shared.Next(10) == 0 ? throw new InvalidOperationException(key) : key;
                    }, leave.Token);
                    if (random.Next(4) == 0)
                    {
                        await leave.CancelAsync();
                    }

                    try
                    {
                        var result = await call.WaitAsync(Patience);
                        if (result != key)
                        {
                            Fail($"a caller of {key} got {result}");
                        }
                    }
                    catch (InvalidOperationException ex) when (ex.Message == key)
                    {
                    }
                    catch (OperationCanceledException) when (leave.IsCancellationRequested)
                    {
                    }
                    catch (Exception ex)
                    {
                        Fail($"a caller of {key} got {ex.GetType().Name}: {ex.Message}");
                    }
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default).Unwrap()).ToArray();

        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Empty(failures);
        await WaitUntil(() => shared.InFlightCount == 0 && shared.GetStats().Active == 0);
        var stats = shared.GetStats();
        Assert.Equal(calls, stats.Hits + stats.Misses);
        Assert.True(stats.Hits > 0, "no call ever joined another: the keys never contended");
    }

    [Fact]
    public void Default_is_one_shared_instance()
    {
        Assert.Same(SharedCall.Default, SharedCall.Default);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Condition not reached in time.");
            await Task.Delay(1);
        }
    }

    private sealed class TestFlight(string key) : SharedCall.LedFlight<int>(key);
}
