"""Reports: report.v1 JSON (``envelope``, ``sections``), Markdown and self-contained HTML."""
