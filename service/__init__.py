"""Byline's HTTP service and command line: parse, call the core in `index`, shape responses."""
