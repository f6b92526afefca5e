namespace Coalesce.LoadRunner.Scenarios;

/// <summary>
/// One HTTP load scenario of loadtests/README.md: it measures its variants in one mode and returns its typed result.
/// Scenarios that use the shared app find it in <see cref="ScenarioContext.App"/>; the scale-out scenario starts
/// instances of its own.
/// </summary>
internal interface IScenario
{
    /// <summary>The name <c>--scenarios</c> knows it by.</summary>
    string Name { get; }

    Task<ScenarioResult> RunAsync(ScenarioContext context, CancellationToken cancellationToken);
}
