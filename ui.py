"""Start the web UI: ``python ui.py [--host H] [--port P] [--watch]``.

Uses the default Assistant (``corpus/`` and ``index/``, or ``ASSISTANT_*`` settings) and builds
the index first when it is empty.
"""

from __future__ import annotations

import argparse
import logging
import sys

from assistant import Assistant, UserError
from assistant.webapp import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default 7860)")
    parser.add_argument("--watch", action="store_true",
                        help="re-index when files in the corpus folder change")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    assistant = Assistant()
    try:
        if assistant.status()["passages"] == 0:
            logging.info("the index is empty: indexing %s first", assistant.corpus_dir)
            assistant.index(show_progress=sys.stderr.isatty())
        serve(assistant, host=args.host, port=args.port, watch=args.watch)
    except UserError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
