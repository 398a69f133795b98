"""Names of files inside an export ZIP: the uploader's own name, made safe to unpack on any system."""
import unicodedata

MAX_STEM = 120
# Characters Windows refuses in a file name, and the path separators of every system.
FORBIDDEN = set('/\\:*?"<>|')
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}


def entry_name(name):
    """One path segment from a person's file name: no separators, controls, bidi or other invisible format
    characters, no leading dots (no `..`, no hidden files), no Windows device name; the extension kept."""
    cleaned = "".join("_" if ch in FORBIDDEN else ch for ch in unicodedata.normalize("NFC", name or "")
                      if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
    stem, dot, ext = cleaned.rpartition(".")
    if not (dot and stem):
        stem, ext = cleaned, ""
    stem = stem.strip(" .")[:MAX_STEM].rstrip(" .") or "proof"
    ext = ext.strip(" .")[:10]
    if stem.split(".")[0].upper() in RESERVED:
        stem = "_" + stem
    return f"{stem}.{ext}" if ext else stem


def unique_names(names):
    """The names in order, a later one equal to an earlier one (ignoring case) numbered: `a.jpg`, `a (2).jpg`."""
    taken, result = set(), []
    for name in names:
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, number = name, 1
        while candidate.casefold() in taken:
            number += 1
            candidate = f"{stem} ({number}).{ext}" if ext else f"{stem} ({number})"
        taken.add(candidate.casefold())
        result.append(candidate)
    return result
