using BenchmarkDotNet.Running;

// dotnet run -c Release --project loadtests/Coalesce.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
