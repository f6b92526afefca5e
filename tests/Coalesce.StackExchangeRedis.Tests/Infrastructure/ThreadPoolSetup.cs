using System.Runtime.CompilerServices;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// Several app instances share this one test process (in production each is a process of its own). On two cores the
/// thread pool starts with two threads, so one instance's synchronous shutdown work could hold the others' Redis
/// continuations past their budgets; a few more threads from the start keep each instance's timing its own.
/// </summary>
internal static class ThreadPoolSetup
{
    [ModuleInitializer]
    internal static void Initialize()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), Math.Max(io, 16));
    }
}
