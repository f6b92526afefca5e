namespace Coalesce.LoadRunner;

/// <summary>Where the runner finds what it drives: the repository root (the folder with Coalesce.sln) and what is under it.</summary>
internal sealed record RepositoryLayout(string Root)
{
    public string LoadTests => Path.Combine(Root, "loadtests");

    public string LuaFolder => Path.Combine(LoadTests, "lua");

    public string AppProject => Path.Combine(LoadTests, "Coalesce.LoadTestApp", "Coalesce.LoadTestApp.csproj");

    public string AppAssembly => Path.Combine(LoadTests, "Coalesce.LoadTestApp", "bin", "Release", "net10.0", "Coalesce.LoadTestApp.dll");

    public string DefaultResults => Path.Combine(LoadTests, "results");

    /// <summary>The repository around the current folder, else around the runner's own files.</summary>
    public static RepositoryLayout Find()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
            {
                if (File.Exists(Path.Combine(folder.FullName, "Coalesce.sln")))
                {
                    return new RepositoryLayout(folder.FullName);
                }
            }
        }

        throw new RunnerException("could not find the repository (a folder with Coalesce.sln) around the current folder.");
    }
}
