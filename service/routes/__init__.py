"""HTTP routes: each module parses a request, calls the core, and maps the result."""
