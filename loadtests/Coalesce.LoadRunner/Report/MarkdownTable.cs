using System.Text;

namespace Coalesce.LoadRunner.Report;

/// <summary>A markdown table: a header row, columns aligned left (text) or right (numbers, marked with a leading '>').</summary>
internal sealed class MarkdownTable
{
    private readonly string[] _headers;
    private readonly bool[] _right;
    private readonly List<string[]> _rows = [];

    /// <param name="headers">The column headers; one starting with '>' is a right-aligned (numeric) column.</param>
    public MarkdownTable(params string[] headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        _right = [.. headers.Select(h => h.StartsWith('>'))];
        _headers = [.. headers.Select(h => h.TrimStart('>'))];
    }

    public MarkdownTable Row(params string[] cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        if (cells.Length != _headers.Length)
        {
            throw new ArgumentException($"A row of {cells.Length} cells in a table of {_headers.Length} columns.", nameof(cells));
        }

        _rows.Add(cells);
        return this;
    }

    public void WriteTo(StringBuilder markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        markdown.Append("| ").AppendJoin(" | ", _headers).Append(" |\n");
        markdown.Append("| ").AppendJoin(" | ", _right.Select(r => r ? "---:" : "---")).Append(" |\n");
        foreach (var row in _rows)
        {
            markdown.Append("| ").AppendJoin(" | ", row.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))).Append(" |\n");
        }

        markdown.Append('\n');
    }
}
