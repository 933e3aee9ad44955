"""Options of the benchmark run (the root conftest.py's options apply too)."""


def pytest_addoption(parser):
    parser.getgroup("parity benchmarks").addoption(
        "--bench-sizes", default="all",
        help="comma-separated benchmark sizes: small, medium, large, segmentation, or all (the "
             "default: every size a record names); 'tiny' is each record's first test shape")
