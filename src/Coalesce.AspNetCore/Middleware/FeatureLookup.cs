using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http.Features;

namespace Coalesce.AspNetCore;

/// <summary>
/// Reads and replaces request features through the feature collection's indexer. <c>Get&lt;T&gt;()</c> and
/// <c>Set&lt;T&gt;()</c> are generic virtual methods of an interface: every call is dispatched through a runtime
/// lookup of the implementation for <c>T</c> (10–20 ns each on Kestrel, several times per request on the paths that
/// every request takes), where the indexer is an ordinary interface call. Both mean the same for every collection:
/// <c>Get&lt;T&gt;()</c> is defined as the indexer's entry for <c>typeof(T)</c>.
/// </summary>
internal static class FeatureLookup
{
    /// <summary>The feature of type <typeparamref name="T"/>, or <see langword="null"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T? Find<T>(this IFeatureCollection features)
        where T : class => features[typeof(T)] as T;

    /// <summary>
    /// The feature of type <typeparamref name="T"/>, which the server must provide: without it, an
    /// <see cref="InvalidOperationException"/> that names it (as <c>GetRequiredFeature&lt;T&gt;()</c> gives).
    /// </summary>
    public static T Require<T>(this IFeatureCollection features)
        where T : class =>
        features.Find<T>() ?? throw new InvalidOperationException($"The request has no {typeof(T).Name}: the server did not provide one.");

    /// <summary>Puts <paramref name="feature"/> in place as the feature of type <typeparamref name="T"/> (removes it for <see langword="null"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Replace<T>(this IFeatureCollection features, T? feature)
        where T : class => features[typeof(T)] = feature;
}
