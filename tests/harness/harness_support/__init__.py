"""Test-support code for the engine-faithful harness: a tiny generic dynamic provider."""
