using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace Coalesce.AspNetCore;

/// <summary>
/// Puts <see cref="RequestInputs"/> in place at the very start of the app's pipeline, before any middleware of the
/// app's own, so what middleware in front of <c>UseRequestCoalescing()</c> reads is seen too.
/// </summary>
internal sealed class InputRecordingStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(static next => context =>
        {
            RequestInputs.Install(context);
            return next(context);
        });
        next(app);
    };
}
