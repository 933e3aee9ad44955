"""A checkout's pytest wiring is the suite's plugin (parity_tests/plugin.py); an installed
torch-loss-parity registers the same plugin through its pytest11 entry point."""
pytest_plugins = ["parity_tests.plugin"]
