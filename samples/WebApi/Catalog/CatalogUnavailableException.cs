namespace WebApi.Catalog;

/// <summary>The catalogue database cannot be reached; the app answers 503 (or a stale response, where one may stand in).</summary>
internal sealed class CatalogUnavailableException(string message) : Exception(message);
