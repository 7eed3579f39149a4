"""Report and map renderers: Markdown, HTML, CSV, JSON and the SVG service map."""
