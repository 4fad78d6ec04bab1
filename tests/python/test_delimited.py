"""The line reader of the landing extracts (src/wse_impact/landing/delimited.py), tried on files that
try to break it.

- Well-formed files written by Python's csv module with fields holding delimiters, quotes
  and line breaks: the reader gives back the rows written, each with the line it starts on.
- Random damage planted in such files: every non-blank line is accounted for exactly once
  (the start of a record, a line inside a record's quoted field, or a damaged line), each
  record has the header's width, and a damaged line costs only itself.
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pytest

from wse_impact.landing.delimited import file_problems, read_delimited

WIDTH = 5
# no "\r": a CR before the LF is part of the line end (CRLF files), so a field ending in CR
# cannot come back; test_crlf_line_ends_and_a_byte_order_mark covers CRLF
ALPHABET = "abcXYZ 019;\"\n,é€\t"


def random_field(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12)))


def _written(rows: list[list[str]]) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=";", quotechar='"', lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return buffer.getvalue()


def _looks_like_swallowed_records(row: list[str]) -> bool:
    """A quoted field whose inner line is, on its own, a whole record: the reader takes its
    opening quote for an unbalanced one (test_a_quoted_field_holding_a_whole_record)."""
    inner = _written([row]).split("\n")[1:-2]
    return any('"' not in line and line.count(";") == WIDTH - 1 for line in inner)


def write_wellformed(rng: random.Random, n_rows: int) -> tuple[bytes, list[list[str]]]:
    rows = [[f"c{i}" for i in range(WIDTH)]]
    while len(rows) <= n_rows:
        row = [random_field(rng) for _ in range(WIDTH)]
        if not _looks_like_swallowed_records(row):
            rows.append(row)
    return _written(rows).encode("utf-8"), rows


def expected_records(rows: list[list[str]]) -> list[tuple[int, list[str]]]:
    """The rows written, each with the line it starts on: a line ends at "\n" (as for wc, sed
    and editors), so a record takes one line plus one per line break inside its fields."""
    out, line = [], 2
    for row in rows[1:]:
        out.append((line, row))
        line += 1 + sum(field.count("\n") for field in row)
    return out


@pytest.mark.parametrize("seed", range(40))
def test_wellformed_files_read_as_csv_reads_them(tmp_path, seed):
    rng = random.Random(seed)
    data, rows = write_wellformed(rng, rng.randint(1, 60))
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    parsed = read_delimited(path, "x.csv")
    assert parsed.damaged == [] and file_problems(parsed) == []
    got = [(line, [v if v is not None else "" for v in values])
           for line, values in zip(parsed.line_numbers, zip(*parsed.columns))]
    expected = expected_records(rows)
    assert [(line, list(f)) for line, f in got] == expected


def plant_damage(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    kinds = [
        lambda line: line + b";extra",  # too many fields (if the line was a whole record)
        lambda line: b"a;b",  # too few
        lambda line: b'x;"unclosed;y;z;w',  # an unbalanced quote
        lambda line: b'"q"x;a;b;c;d',  # text after a closing quote
        lambda line: b"a;b\xff;c;d;e",  # not UTF-8
    ]
    out = list(lines)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(1, len(out))
        out[i] = rng.choice(kinds)(out[i])
    return out


@pytest.mark.parametrize("seed", range(60))
def test_damaged_files_lose_nothing(tmp_path, seed):
    rng = random.Random(1000 + seed)
    data, _rows = write_wellformed(rng, rng.randint(5, 80))
    lines = plant_damage(rng, data.split(b"\n")[:-1])
    path = tmp_path / "x.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    parsed = read_delimited(path, "x.csv")

    numbers = parsed.line_numbers
    assert numbers == sorted(set(numbers)), "each line is read once, in order"
    damaged = {d.line_number for d in parsed.damaged}
    assert damaged == {n for n, problem in zip(numbers, parsed.line_problems) if problem}
    for values, problem in zip(zip(*parsed.columns), parsed.line_problems):
        assert len(values) == WIDTH and (problem is None or all(v is None for v in values))
    # every non-empty physical line after the header: a record's first line, a damaged line,
    # or a line inside the quoted field of the record before it
    covered = set(numbers)
    for line_number, values in zip(numbers, zip(*parsed.columns)):
        if line_number not in damaged:
            extra = sum((v or "").count("\n") for v in values)
            covered.update(range(line_number + 1, line_number + extra + 1))
    non_blank = {i + 1 for i, line in enumerate(lines) if i > 0 and line.removesuffix(b"\r")}
    assert non_blank <= covered, f"lines neither read nor quarantined: {sorted(non_blank - covered)}"
    for d in parsed.damaged:
        assert d.raw_text == lines[d.line_number - 1].decode("utf-8", "backslashreplace").removesuffix("\r")


def test_crlf_line_ends_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xef\xbb\xbfa;b\r\n1;2\r\n\r\n3;\"x\r\ny\"\r\n4;5\r\n")
    parsed = read_delimited(path, "x.csv")
    assert parsed.header == ["a", "b"]
    assert parsed.line_numbers == [2, 4, 6]
    assert parsed.columns == [["1", "3", "4"], ["2", "x\ny", "5"]]


def test_an_unbalanced_quote_costs_one_line_even_before_a_quoted_record(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('a;b;c\n1;"open;x\n2;y;z\n3;"multi\nline";w\n', encoding="utf-8")
    parsed = read_delimited(path, "x.csv")
    assert [(d.line_number, d.reason.split(":")[0]) for d in parsed.damaged] == [(2, "unbalanced quote")]
    assert parsed.line_numbers == [2, 3, 4]
    assert parsed.columns[1] == [None, "y", "multi\nline"]


def test_a_whole_file_in_another_encoding_stops_the_build(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("a;b\n".encode() + "".join(f"{i};Coöperatie\n" for i in range(20)).encode("cp1252"))
    problems = file_problems(read_delimited(path, "x.csv"))
    assert problems == ["x.csv: not valid UTF-8 at line 2 (Windows-1252? byte 0xf6 would be 'ö' there); 20 of 20 data "
                        "lines damaged (more than 10%: not the declared layout): re-encode the file as UTF-8"]


def test_an_undecodable_header_stops_the_build(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("insz;naam_ö\n1;2\n".encode("cp1252"))
    assert file_problems(read_delimited(path, "x.csv"))[0].startswith("x.csv: not valid UTF-8 (Windows-1252?")


def test_a_quoted_field_holding_a_whole_record_is_kept_as_damaged_lines(tmp_path):
    """The price of never merging records: a quoted field whose inner line is on its own a
    whole record (as after an unbalanced quote) is not read as one record; its lines are
    quarantined, not lost."""
    path = tmp_path / "x.csv"
    path.write_text('a;b;c\n1;"free\nx;y;z\ntext";2\n3;4;5\n', encoding="utf-8")
    parsed = read_delimited(path, "x.csv")
    assert [d.line_number for d in parsed.damaged] == [2, 4]
    assert parsed.line_numbers == [2, 3, 4, 5] and parsed.columns[0] == [None, "x", None, "3"]
