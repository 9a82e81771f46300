#!/usr/bin/env python3
"""Parse every T-SQL statement of the given files with sqlglot's tsql dialect.

Batches are separated by lines holding only GO (as in lunadb's --sql output for SQL Server);
each batch is split into statements by sqlglot. Prints one line per statement that does not
parse and exits 1 if there was any, 0 otherwise.

sqlglot falls back to an unparsed "Command" for syntax it does not model; such a statement counts
as a failure unless it matches one of KNOWN_VALID below: valid T-SQL that sqlglot cannot parse,
each listed with the reason.

ODBC parameter markers ("?", what the store prepares) parse as sqlglot's exp.Placeholder in the
tsql dialect, so prepared statements are checked as they are sent to the driver.

--strict (before the files) also refuses syntax that sqlglot's tsql reader accepts from other
dialects although SQL Server does not (LIMIT, RETURNING, TRUE/FALSE, ON CONFLICT, row-value
comparisons, ...; see STRICT_TOKENS and strict_problems()): without it a statement rendered by the
wrong dialect could pass.
"""
import re
import sys

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError

KNOWN_VALID = [
    # ALTER TABLE t ADD CONSTRAINT df DEFAULT (x) FOR col: the named-default form; sqlglot has no
    # node for "DEFAULT ... FOR".
    re.compile(r"^ALTER TABLE \[[^\]]+(\]\][^\]]*)*\] ADD CONSTRAINT \[[^\]]+\] DEFAULT \(.*\) FOR \[[^\]]+\]$", re.S),
    # SET IDENTITY_INSERT t ON|OFF: explicit ids into an identity column (personality_state row 1);
    # sqlglot has no node for this SET option.
    re.compile(r"^SET IDENTITY_INSERT (\[[^\]]+\]|[A-Za-z_][A-Za-z0-9_]*) (ON|OFF)$"),
]

# Words and symbols of other dialects that the tsql reader still accepts, with what T-SQL uses
# instead. Matched on the token's text: the tokenizer maps T-SQL's OUTPUT to the same token type
# as RETURNING, so types alone cannot tell them apart.
STRICT_TOKENS = {
    "LIMIT": "LIMIT is not T-SQL (TOP, or OFFSET ... FETCH after ORDER BY)",
    "RETURNING": "RETURNING is not T-SQL (OUTPUT INSERTED)",
    "TRUE": "T-SQL has no boolean literals (1 / 0)",
    "FALSE": "T-SQL has no boolean literals (1 / 0)",
    "::": "'::' casts are not T-SQL (CAST)",
    "ILIKE": "ILIKE is not T-SQL",
}

COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def strict_problems(batch, statements):
    """Reasons why a batch that sqlglot parsed is still not T-SQL SQL Server accepts."""
    problems = []
    tokens = Dialect.get_or_raise("tsql").tokenize(batch)
    for token in tokens:
        # Quoted identifiers and strings are tokens of their own kinds and never match.
        reason = STRICT_TOKENS.get(token.text.upper()) if token.token_type.name not in ("STRING", "NATIONAL_STRING", "IDENTIFIER") else None
        if reason:
            problems.append(reason)
        elif token.token_type.name == "VAR" and token.text.startswith("$"):
            problems.append(f"{token.text}: $n parameters are not T-SQL (ODBC uses ?)")
    for statement in statements:
        if statement is None:
            continue
        for node in statement.walk():
            if isinstance(node, exp.OnConflict):
                problems.append("ON CONFLICT / ON DUPLICATE KEY is not T-SQL (MERGE)")
            elif isinstance(node, COMPARISONS) and any(isinstance(side, exp.Tuple) for side in (node.this, node.expression)):
                problems.append("row-value comparison (a, b) > (x, y) is not T-SQL")
            elif isinstance(node, exp.Placeholder) and node.this:
                problems.append(f":{node.this}: named parameters are not ODBC markers (?)")
    return sorted(set(problems))


GO_LINE = re.compile(r"^\s*GO\s*$", re.I | re.M)


def batches(text):
    return [b for b in GO_LINE.split(text) if b.strip()]


def check_batch(batch, strict=False):
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
    if strict and not failures:
        for reason in strict_problems(batch, statements):
            failures.append((batch.strip(), "not T-SQL: " + reason))
    return failures


def main(argv):
    strict = len(argv) > 1 and argv[1] == "--strict"
    if strict:
        argv = argv[:1] + argv[2:]
    if len(argv) < 2:
        print("usage: tsql_parse.py [--strict] FILE...", file=sys.stderr)
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
            failures = check_batch(batch, strict)
            failed += len({statement for statement, _ in failures})
            for statement, reason in failures:
                shown = " ".join(statement.split())
                if len(shown) > 300:
                    shown = shown[:300] + "..."
                print(f"{path}: batch {number}: {reason}\n    {shown}")
    print(f"tsql_parse: {total} batches, {failed} statements failed to parse (sqlglot {sqlglot.__version__})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
