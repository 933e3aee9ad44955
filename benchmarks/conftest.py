"""Options of the benchmark run (the root conftest.py's options apply too)."""


def pytest_addoption(parser):
    parser.getgroup("parity benchmarks").addoption(
        "--bench-sizes", default="small,medium,large",
        help="comma-separated benchmark sizes (default small,medium,large; 'tiny' is each record's "
             "first test shape, for smoke runs)")
