"""`python -m bench [upload|concurrent|direct|pages|export] [--smoke] [...]`: run one benchmark (upload when none is named); --smoke runs
one repetition on the smallest data, for CI. Figures and how to read them: docs/benchmarks.md, docs/performance.md."""
import sys

from . import common  # noqa: F401  (puts the repository on sys.path, keeps a developer's .env out)

BENCHMARKS = ("upload", "concurrent", "direct", "pages", "export")


def main(argv):
    name = argv[0] if argv and not argv[0].startswith("-") else "upload"
    if name not in BENCHMARKS:
        raise SystemExit(f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}")
    rest = argv[1:] if argv and argv[0] == name else argv
    if name == "upload":
        from . import upload

        upload.run(smoke="--smoke" in rest)
    elif name == "export":
        from . import export

        export.run(smoke="--smoke" in rest)
    elif name == "concurrent":
        from . import concurrent

        concurrent.run(smoke="--smoke" in rest)
    elif name == "direct":
        from . import direct

        direct.run(smoke="--smoke" in rest)
    else:
        from . import pages

        pages.main(rest)


main(sys.argv[1:])
