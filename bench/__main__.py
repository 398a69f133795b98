"""`python -m bench [NAME] [--smoke]`: run one benchmark (default: upload); --smoke runs one repetition and
writes nothing, for CI. Figures and how to read them: docs/benchmarks.md."""
import argparse
import importlib

from . import common  # noqa: F401  (puts the repository on sys.path, keeps a developer's .env out)

BENCHMARKS = ("upload",)


def main():
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", nargs="?", default="upload", choices=BENCHMARKS)
    parser.add_argument("--smoke", action="store_true", help="one repetition, no results written")
    args = parser.parse_args()
    importlib.import_module(f"bench.{args.name}").run(smoke=args.smoke)


if __name__ == "__main__":
    main()
