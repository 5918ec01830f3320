"""The clamp3 app: ``python app.py`` serves the embedded default model and demo library.

    python app.py [--weights default|saas|DIR] [--index DIR] [--host 127.0.0.1] [--port 7860]

``CLAMP3_WEIGHTS`` and ``CLAMP3_INDEX`` do the same as the options (for a Hugging Face Space).
"""

from __future__ import annotations

import argparse
import logging
import sys

import gradio as gr

from explorers import search
from explorers.context import Context


def build_app(context: Context) -> gr.Blocks:
    with gr.Blocks(title="CLaMP 3 explorer") as app:
        gr.Markdown(f"# CLaMP 3 explorer\n{len(context.library)} items in `{context.index.name}`, model `{context.weights}`")
        with gr.Tab("Search"):
            search.build(context)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default=None, help="default: $CLAMP3_WEIGHTS or the embedded model")
    parser.add_argument("--index", default=None, help="library folder (default: $CLAMP3_INDEX or the demo library)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    context = Context.load(args.weights, args.index)
    build_app(context).queue(default_concurrency_limit=4).launch(server_name=args.host, server_port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
