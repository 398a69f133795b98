"""Run the portal's upload checks (validate, then prepare) over every file in a folder and print each verdict.

    .venv/bin/python scripts/corpus_check.py FOLDER [--refused-only]

One row per file: accepted, refused (with the employee's message) or CRASH (any other exception: an upload
that would answer 500), and the seconds it took; then the refusal rate. Meant for a corpus of benign
real-world files kept outside the repository (files from other projects may not be committed).
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal import create_app  # noqa: E402
from portal.media.images import prepare  # noqa: E402
from portal.media.validation import ValidationError, validate  # noqa: E402

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000


def check(path):
    """(verdict, message, seconds) for one file."""
    data = path.read_bytes()
    started = time.perf_counter()
    try:
        checked = validate(data, path.name, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
        prepare(checked.data, checked.content_type)
        verdict, message = "accepted", checked.content_type
    except ValidationError as refused:
        verdict, message = "refused", f"[{refused.code}] {refused}"
    except Exception as error:  # noqa: BLE001 - exactly what the script is looking for
        verdict, message = "CRASH", f"{type(error).__name__}: {error}"
    return verdict, message, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--refused-only", action="store_true", help="print only refused and crashed files")
    args = parser.parse_args()
    files = sorted(p for p in args.folder.rglob("*") if p.is_file())
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x" * 32}, profile="testing")
    counts = {"accepted": 0, "refused": 0, "CRASH": 0}
    total_time = 0.0
    with app.test_request_context(headers={"Accept-Language": "en"}):
        for path in files:
            verdict, message, seconds = check(path)
            counts[verdict] += 1
            total_time += seconds
            if verdict != "accepted" or not args.refused_only:
                print(f"{verdict:8}  {seconds:6.2f}s  {path.relative_to(args.folder)}  {message[:160]}")
    rejected = counts["refused"] + counts["CRASH"]
    print(f"\n{len(files)} files: {counts['accepted']} accepted, {counts['refused']} refused, "
          f"{counts['CRASH']} crashed; refusal rate {100 * rejected / max(1, len(files)):.2f} % "
          f"({rejected}/{len(files)}); {total_time:.1f} s in checks")


if __name__ == "__main__":
    main()
