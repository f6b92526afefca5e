using System.IO.Pipelines;
using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Coalesce.AspNetCore;

/// <summary>
/// An endpoint filter on memoized endpoints that tells the leader's capture when a handler returned something
/// that is produced once and must not be kept: a stream, a pipe, a file or a push-stream result.
/// </summary>
internal static class ReplayabilityFilter
{
    public static EndpointFilterDelegate Create(EndpointFilterFactoryContext context, EndpointFilterDelegate next)
    {
        var returnsSequence = ReturnsAsyncSequenceOrStream(context.MethodInfo);
        return async invocation =>
        {
            var result = await next(invocation).ConfigureAwait(false);
            if ((returnsSequence || IsOneShot(result)) &&
                invocation.HttpContext.Features.Get<ResponseCapture>() is { } capture)
            {
                capture.NotReplayable = true;
            }

            return result;
        };
    }

    internal static bool IsOneShot(object? result) => result is Stream or PipeReader or FileStreamHttpResult
        or PushStreamHttpResult or PhysicalFileHttpResult or VirtualFileHttpResult;

    internal static bool ReturnsAsyncSequenceOrStream(MethodInfo method)
    {
        var type = method.ReturnType;
        if (type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(Task<>) || type.GetGenericTypeDefinition() == typeof(ValueTask<>)))
        {
            type = type.GetGenericArguments()[0];
        }

        return typeof(Stream).IsAssignableFrom(type) || typeof(PipeReader).IsAssignableFrom(type) ||
               (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IAsyncEnumerable<>));
    }
}
