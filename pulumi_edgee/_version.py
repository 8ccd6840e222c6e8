"""The package version, in one place: pyproject.toml, the User-Agent and the plugin read it."""

__version__ = "0.1.0"
