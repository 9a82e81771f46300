#!/usr/bin/env python3
"""Parse every T-SQL statement of the given files with sqlglot's tsql dialect.

Batches are separated by lines holding only GO (as in lunadb's --sql output for SQL Server);
each batch is split into statements by sqlglot. Prints one line per statement that does not
parse and exits 1 if there was any, 0 otherwise.

sqlglot falls back to an unparsed "Command" for syntax it does not model; such a statement counts
as a failure unless it matches one of KNOWN_VALID below: valid T-SQL that sqlglot cannot parse,
each listed with the reason.
"""
import re
import sys

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError

KNOWN_VALID = [
    # ALTER TABLE t ADD CONSTRAINT df DEFAULT (x) FOR col: the named-default form; sqlglot has no
    # node for "DEFAULT ... FOR".
    re.compile(r"^ALTER TABLE \[[^\]]+(\]\][^\]]*)*\] ADD CONSTRAINT \[[^\]]+\] DEFAULT \(.*\) FOR \[[^\]]+\]$", re.S),
]

GO_LINE = re.compile(r"^\s*GO\s*$", re.I | re.M)


def batches(text):
    return [b for b in GO_LINE.split(text) if b.strip()]


def check_batch(batch):
    """Returns a list of (statement text, reason) that failed."""
    failures = []
    try:
        statements = sqlglot.parse(batch, read="tsql", error_level=ErrorLevel.RAISE)
    except ParseError as error:
        return [(batch.strip(), str(error).splitlines()[0])]
    for statement in statements:
        if statement is None:
            continue
        if isinstance(statement, exp.Command):
            text = statement.sql(dialect="tsql")
            raw = batch.strip().rstrip(";").strip()
            if any(p.match(raw) for p in KNOWN_VALID):
                continue
            failures.append((text, "not understood by sqlglot (parsed only as an opaque command)"))
    return failures


def main(argv):
    if len(argv) < 2:
        print("usage: tsql_parse.py FILE...", file=sys.stderr)
        return 2
    import logging
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    total = 0
    failed = 0
    for path in argv[1:]:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            print(f"tsql_parse: cannot read {path}: {error}", file=sys.stderr)
            return 2
        for number, batch in enumerate(batches(text), 1):
            total += 1
            for statement, reason in check_batch(batch):
                failed += 1
                shown = " ".join(statement.split())
                if len(shown) > 300:
                    shown = shown[:300] + "..."
                print(f"{path}: batch {number}: {reason}\n    {shown}")
    print(f"tsql_parse: {total} batches, {failed} statements failed to parse (sqlglot {sqlglot.__version__})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
