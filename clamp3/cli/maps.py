"""``clamp3 map``: a UMAP map of a library, as interactive HTML or CSV."""

from __future__ import annotations

import argparse
import sys

from clamp3.cli.options import MODALITIES, require_paths


def register(commands) -> None:
    mapping = commands.add_parser("map", help="a UMAP map of a library (HTML or CSV)")
    mapping.add_argument("--index", default=None, help="library folder (default: the demo library)")
    mapping.add_argument("--out", required=True, help="map.html (interactive) or map.csv")
    mapping.add_argument("--color-by", default=None, help="metadata field to colour by (default: modality)")
    mapping.add_argument("--modality", choices=MODALITIES)
    mapping.add_argument("--center", action="store_true", help="centre each modality so they overlay")
    mapping.set_defaults(func=cmd_map)


def cmd_map(args: argparse.Namespace) -> int:
    from clamp3.analysis import library_map, write_map
    from clamp3.assets import EMBEDDED, default_index, is_demo_library
    from clamp3.library import Library

    require_paths([args.index])
    index = args.index or default_index(EMBEDDED, unpack=False)
    # the demo library that ships in assets/ stays as released: opened to read, its map kept in memory
    demo = is_demo_library(index)
    rows, points = library_map(Library.open(index, read_only=demo), args.modality, args.center, save=not demo)
    write_map(points, rows, args.color_by, args.out)
    print(f"map of {len(rows)} items written to {args.out}", file=sys.stderr)
    return 0
