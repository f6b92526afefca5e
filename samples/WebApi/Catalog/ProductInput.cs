namespace WebApi.Catalog;

/// <summary>The body of <c>POST /products</c> and <c>PUT /products/{id}</c>.</summary>
internal sealed record ProductInput(string? Name, string? Category, decimal? Price)
{
    public const int MaxNameLength = 100;
    public const int MaxCategoryLength = 40;

    /// <summary>The problems with this input, by field; empty when it is valid.</summary>
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(Name))
        {
            errors["name"] = ["A name is required."];
        }
        else if (Name.Length > MaxNameLength)
        {
            errors["name"] = [$"A name has at most {MaxNameLength} characters."];
        }

        if (string.IsNullOrWhiteSpace(Category))
        {
            errors["category"] = ["A category is required."];
        }
        else if (Category.Length > MaxCategoryLength)
        {
            errors["category"] = [$"A category has at most {MaxCategoryLength} characters."];
        }

        if (Price is null)
        {
            errors["price"] = ["A price is required."];
        }
        else if (Price < 0 || Price > 1_000_000)
        {
            errors["price"] = ["A price is between 0 and 1,000,000."];
        }

        return errors;
    }
}
