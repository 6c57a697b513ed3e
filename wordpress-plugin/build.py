"""Build the WordPress plugin's zip: ``python wordpress-plugin/build.py [OUT]``.

The zip holds one folder, ``newsrec/``, as WordPress's "Upload Plugin" expects. Entries are
sorted and dated 1980-01-01, so the same sources give the same bytes.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "newsrec"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "dist" / "newsrec-wordpress.zip"
#: What a plugin folder ships; anything else (editor droppings, caches) stays out.
SUFFIXES = {".php", ".js", ".json", ".txt", ".css", ".pot", ".po", ".mo", ".md"}


def build(out: Path = DEFAULT_OUT) -> Path:
    """Write the zip to ``out`` (its folder is created) and return its path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in SOURCE.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    partial = out.with_suffix(".zip.part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            name = "newsrec/" + path.relative_to(SOURCE).as_posix()
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    partial.replace(out)
    return out


if __name__ == "__main__":
    built = build(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
    print(f"{built} ({built.stat().st_size} bytes)")
