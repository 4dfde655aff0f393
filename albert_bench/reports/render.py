"""A table (a DataFrame of display strings with attrs title / notes) as text:
md for READMEs, latex (booktabs) for papers, html (escaped, no script): the display strings;
json and csv for programs: the numbers in attrs["data"] (value, ci_low, ci_high, sd, n, reference,
delta; missing = null / empty), one row per model and column.

    from albert_bench.reports.tables import glue_table, render
    print(render(glue_table(results), "latex"))
"""
from __future__ import annotations

import csv
import html
import io
import json
import re

import pandas as pd

FORMATS = ("md", "csv", "latex", "html", "json")


def _rows(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    header = [str(table.index.name or "")] + [str(c) for c in table.columns]
    body = [[str(index)] + ["" if pd.isna(v) else str(v) for v in row]
            for index, row in zip(table.index, table.itertuples(index=False))]
    return header, body


def to_markdown(table: pd.DataFrame) -> str:
    header, body = _rows(table)

    def line(cells):
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
    lines = [f"**{table.attrs['title']}**", ""] if table.attrs.get("title") else []
    lines += [line(header), "|" + "|".join("---" for _ in header) + "|", *(line(r) for r in body)]
    lines += ["", *table.attrs.get("notes", [])] if table.attrs.get("notes") else []
    return "\n".join(lines) + "\n"


def _data(table: pd.DataFrame) -> tuple[list[str], list[dict]] | None:
    """The table's numbers (attrs["data"]: one dict per model / run and column), keys in first-seen order."""
    data = table.attrs.get("data")
    if data is None:
        return None
    return list(dict.fromkeys(k for row in data for k in row)), data


def to_csv(table: pd.DataFrame) -> str:
    """The numbers, one line per model and column (missing = empty); a table without numbers: its cells."""
    if (numbers := _data(table)) is not None:
        keys, data = numbers
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n", restval="")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in data)
        return buffer.getvalue()
    header, body = _rows(table)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
    return buffer.getvalue()


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
          "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$", "–": "--",
          "−": "-", "†": r"\textdagger{}", "Δ": r"$\Delta$", "<": r"\textless{}", ">": r"\textgreater{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in str(text))


def to_latex(table: pd.DataFrame) -> str:
    """A booktabs tabular (\\usepackage{booktabs}) in a table float with the title as caption."""
    header, body = _rows(table)
    lines = [r"\begin{table}[t]", r"\centering", r"\small",
             r"\begin{tabular}{l" + "r" * (len(header) - 1) + "}", r"\toprule",
             " & ".join(latex_escape(c) for c in header) + r" \\", r"\midrule"]
    lines += [" & ".join(latex_escape(c) for c in row) + r" \\" for row in body]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.attrs.get("title"):
        lines.append(r"\caption{" + latex_escape(table.attrs["title"]) + "}")
    lines.append(r"\end{table}")
    notes = table.attrs.get("notes") or []
    return "\n".join(lines + ["% " + n.replace("\n", " ") for n in notes]) + "\n"


_NUMBER = re.compile(r"^[-+−]?\d|^–$|^\[")


def _td(cell: str) -> str:
    """Numbers right-aligned (the stylesheet's default), text cells marked to read left-aligned."""
    return f"<td>{html.escape(cell)}</td>" if _NUMBER.match(cell) else f'<td class="text">{html.escape(cell)}</td>'


def to_html(table: pd.DataFrame, full_page: bool = False) -> str:
    """An escaped <table> (every cell and header through html.escape); full_page wraps it."""
    header, body = _rows(table)
    esc = html.escape
    parts = ['<table class="results">']
    if table.attrs.get("title"):
        parts.append(f"<caption>{esc(table.attrs['title'])}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th>{esc(c)}</th>" for c in header) + "</tr></thead><tbody>")
    for row in body:
        parts.append("<tr>" + f"<th>{esc(row[0])}</th>" + "".join(_td(c) for c in row[1:]) + "</tr>")
    parts.append("</tbody></table>")
    parts += [f'<p class="note">{esc(n)}</p>' for n in table.attrs.get("notes") or []]
    text = "\n".join(parts)
    if full_page:
        text = ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
                + esc(table.attrs.get("title", "table")) + "</title></head><body>\n" + text + "\n</body></html>")
    return text + "\n"


def to_json(table: pd.DataFrame) -> str:
    """{"title", "columns", "rows": [{"model", "column", ..., "value", "ci_low", "ci_high", "sd", "n",
    "reference", "delta"}], "notes"}: numbers (missing = null), one row per model and column. A table
    without numbers: {"title", "index", "columns", "rows": [{index_name: label, column: cell}], "notes"}."""
    if (numbers := _data(table)) is not None:
        keys, data = numbers
        return json.dumps({"title": table.attrs.get("title"), "columns": keys,
                           "rows": [{k: row.get(k) for k in keys} for row in data],
                           "notes": table.attrs.get("notes", [])}, indent=2, ensure_ascii=False) + "\n"
    header, body = _rows(table)
    rows = [dict(zip(header, row)) for row in body]
    return json.dumps({"title": table.attrs.get("title"), "index": header[0], "columns": header[1:],
                       "rows": rows, "notes": table.attrs.get("notes", [])}, indent=2, ensure_ascii=False) + "\n"


def render(table: pd.DataFrame, fmt: str = "md") -> str:
    """`table` as md | csv | latex | html | json text."""
    writers = {"md": to_markdown, "csv": to_csv, "latex": to_latex, "html": to_html, "json": to_json}
    if fmt not in writers:
        raise ValueError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return writers[fmt](table)
