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
    mapping.add_argument("--clusters", type=int, default=0, metavar="K",
                         help="k-means clusters of the items, each named by the labels that set it apart (0: none)")
    mapping.add_argument("--vocabulary", default=None, metavar="FILE",
                         help="with --clusters: the label texts, one a line, any language (default: styles, regions, forms, "
                              "instruments, moods, eras)")
    mapping.add_argument("--weights", default=None, help="with --clusters: the model that encodes the labels (default: the library's "
                                                         "model when it is the embedded default)")
    mapping.set_defaults(func=cmd_map)


def cmd_map(args: argparse.Namespace) -> int:
    from clamp3.analysis import write_map
    from clamp3.assets import EMBEDDED, default_index, is_demo_library
    from clamp3.library import Library
    from clamp3.library.maps import library_map

    require_paths([args.index, args.vocabulary])
    index = args.index or default_index(EMBEDDED, unpack=False)
    # the demo library that ships in assets/ stays as released: opened to read, its map kept in memory
    demo = is_demo_library(index)
    library = Library.open(index, read_only=demo)
    rows, points = library_map(library, args.modality, args.center)  # its map cached under CLAMP3_CACHE
    places = []
    if args.clusters:
        from pathlib import Path

        from clamp3 import Embedder, load_model
        from clamp3.clusters import DEFAULT_VOCABULARY, cluster_places, label_clusters, with_clusters

        vocabulary = Path(args.vocabulary).read_text(encoding="utf-8") if args.vocabulary else DEFAULT_VOCABULARY
        model = load_model(args.weights or EMBEDDED)
        library.use_model(model)  # the labels must be encoded by the model of the library's vectors
        clusters = label_clusters(library.vectors_of([r.id for r in rows]), Embedder(model).encode_texts, vocabulary, args.clusters)
        rows, places = with_clusters(rows, clusters), cluster_places(points, clusters)
    write_map(points, rows, args.color_by, args.out, places)
    print(f"map of {len(rows)} items written to {args.out}", file=sys.stderr)
    return 0
