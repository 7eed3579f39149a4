"""The web page's views (team map, focus, search) and what they draw; api/routes/ui.py serves them."""
