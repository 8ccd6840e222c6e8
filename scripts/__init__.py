"""The project's command lines (schema generation, fault runs, demo, wheel and version
checks); a package so that tests import their logic as modules, not as loaded files."""
