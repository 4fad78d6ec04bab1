"""Reading a delimited landing file line by line: every record with its true line number,
every damaged line kept with its reason.

DuckDB's and pandas' CSV readers either refuse a whole file for one ragged line or turn it
into nulls, and neither tells the line a record started on once a quoted field has held a
line break. A real extract has such lines (a stray `;` in a free-text field), and one bad
line of 150,000 must not block a delivery, nor be lost. So the landing extracts are read
here, and the result is loaded as the source table (through the project's dbt-duckdb
plugin, `src/wse_impact/engines/duckdb_plugin.py`):

- a **record** is a line (or, when a quoted field holds a line break, several lines) with as
  many fields as the header; it keeps the number of the line it starts on;
- a **damaged line** is kept whole, with its line number and reason: too many or too few
  fields, a quote that is never closed, text after a closing quote, bytes that are not
  UTF-8. Reading resumes on the next line, so one damaged line costs one line;
- a quoted field that runs over several lines is accepted only when it closes into a record
  of the right width and swallows no line that is a whole record of its own; otherwise its
  opening quote is taken as unbalanced;
- empty lines carry nothing and are skipped (as DuckDB does); a line of only spaces or tabs
  is read like any other (and, having one field, is damaged).

Whether a file is readable at all (header, delimiter, encoding of the file as a whole, too
many damaged lines) is decided by `file_problems`, which the structural check reports
before anything is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

# a file with more damaged lines than this share is not a file of the declared layout
# (e.g. another delimiter or encoding throughout): the build stops instead of quarantining
MAX_DAMAGED_LINE_SHARE = 0.10
# how many damaged lines are named per file in a structural problem
MAX_LINES_NAMED = 5
# how a delimiter is named in messages (and the ones a wrong delimiter is guessed among)
DELIMITER_NAMES = {",": "','", "\t": "tab", "|": "'|'", ";": "';'"}

LINEAGE_COLUMNS = ("source_file", "source_line_number", "line_problem", "raw_line")


@dataclass
class DamagedLine:
    line_number: int
    reason: str
    raw_text: str  # the line as read (undecodable bytes as \\x.. escapes)


@dataclass
class DelimitedFile:
    """What was read of one file: its header, its records, its damaged lines."""

    name: str  # as shown in messages and stored as source_file: relative to the landing folder
    header: list[str] = field(default_factory=list)
    # one list per header column, aligned with line_numbers / line_problems / raw_lines
    columns: list[list[str | None]] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)
    line_problems: list[str | None] = field(default_factory=list)
    raw_lines: list[str | None] = field(default_factory=list)
    unreadable: str | None = None  # the file as a whole cannot be read (empty, header not UTF-8, ...)
    delimiter: str = ";"

    @property
    def damaged(self) -> list[DamagedLine]:
        return [DamagedLine(number, problem, raw)
                for number, problem, raw in zip(self.line_numbers, self.line_problems, self.raw_lines) if problem]

    @property
    def n_lines_read(self) -> int:
        """Records plus damaged lines: every non-blank line after the header, counted once."""
        return len(self.line_numbers)

    def to_arrow(self):
        """The source table: every header column as text, then the lineage columns."""
        import pyarrow as pa

        arrays = [pa.array(values, type=pa.string()) for values in self.columns]
        arrays += [
            pa.array([self.name] * len(self.line_numbers), type=pa.string()),
            pa.array(self.line_numbers, type=pa.int64()),
            pa.array(self.line_problems, type=pa.string()),
            pa.array(self.raw_lines, type=pa.string()),
        ]
        return pa.table(arrays, names=[*self.header, *LINEAGE_COLUMNS])


def read_delimited(path: Path, name: str | None = None, delimiter: str = ";", quote: str = '"',
                   keep_records: bool = True) -> DelimitedFile:
    """Read one delimited file. `keep_records=False` only counts (for the structural check)."""
    result = DelimitedFile(name=name or str(path), delimiter=delimiter)
    lines = _lines_after_header(Path(path), result, quote)
    if lines is None:
        return result
    width = len(result.header)
    if keep_records:
        result.columns = [[] for _ in range(width)]

    def accept(line_number: int, fields: list[str | None]) -> None:
        result.line_numbers.append(line_number)
        result.line_problems.append(None)
        result.raw_lines.append(None)
        if keep_records:
            for column, value in zip(result.columns, fields):
                column.append(value)

    def damage(line_number: int, reason: str, text: str) -> None:
        result.line_numbers.append(line_number)
        result.line_problems.append(reason)
        result.raw_lines.append(text)
        if keep_records:
            for column in result.columns:
                column.append(None)

    i, n = 1, len(lines)
    while i < n:
        line_number = i + 1
        text = _decoded(lines[i])
        if text is None:
            damage(line_number, _undecodable_reason(lines[i], "line"), lines[i].decode("utf-8", "backslashreplace"))
            i += 1
            continue
        text = text[:-1] if text.endswith("\r") else text
        if not text:  # an empty line carries nothing (a line of spaces is read, and damaged)
            i += 1
            continue
        if quote not in text:
            fields = text.split(delimiter)
            if len(fields) == width:
                accept(line_number, [f if f != "" else None for f in fields])
            else:
                damage(line_number, _width_reason(len(fields), width), text)
            i += 1
            continue
        fields, last, problem = _quoted_record(lines, i, text, delimiter, quote)
        if problem is None and len(fields) != width:
            problem = (_width_reason(len(fields), width) if last == i else
                       f"unbalanced quote: the quoted field opened on this line closes {last - i} lines further "
                       f"into {len(fields)} fields, expected {width}")
        if problem is None and last > i and _swallows_a_record(lines, i, last, delimiter, quote, width):
            problem = "unbalanced quote: the quoted field opened on this line runs over a complete record"
        if problem is None:
            accept(line_number, fields)
            i = last + 1
        else:
            damage(line_number, problem, text)
            i += 1  # one damaged line costs one line: resume on the next
    return result


# Files the structural check parsed in this process, for the load to take instead of parsing
# them again (the dbt hook checks every file, then dbt-duckdb loads each source): keyed by
# path, size and modification time, so a file changed in between is read again.
_PARSED: dict[tuple, DelimitedFile] = {}


def _parse_key(path: Path, delimiter: str, quote: str) -> tuple:
    stat = Path(path).stat()
    return (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, delimiter, quote)


def read_delimited_and_keep(path: Path, name: str | None = None, delimiter: str = ";", quote: str = '"') -> DelimitedFile:
    """`read_delimited`, the result also kept for one `read_delimited_once` of the same file."""
    key = _parse_key(path, delimiter, quote)
    parsed = read_delimited(path, name=name, delimiter=delimiter, quote=quote)
    _PARSED[key] = parsed
    return parsed


def read_delimited_once(path: Path, name: str | None = None, delimiter: str = ";", quote: str = '"') -> DelimitedFile:
    """The file as the check kept it (then forgotten), or read now: each file parsed once."""
    kept = _PARSED.pop(_parse_key(path, delimiter, quote), None)
    if kept is None:
        return read_delimited(path, name=name, delimiter=delimiter, quote=quote)
    return replace(kept, name=name or str(path))


def _lines_after_header(path: Path, result: DelimitedFile, quote: str) -> list[str] | list[bytes] | None:
    """The file's lines (text, or bytes where the file is not UTF-8 as a whole), its header
    read into `result`; None, with `result.unreadable` saying why, when there is none."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark: not part of the header
        raw = raw[3:]
    if not raw.strip():
        result.unreadable = "empty file (0 rows, no header)" if not raw else "empty file (only blank space, no header)"
        return None

    try:
        lines: list[str] | list[bytes] = raw.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        lines = raw.split(b"\n")  # decoded line by line: only the damaged lines are lost
    if lines[-1] in ("", b""):
        lines.pop()  # the file's final line break

    header_line = _decoded(lines[0])
    if header_line is None:
        result.unreadable = _undecodable_reason(lines[0], "the header")
        return None
    header = _split_line(header_line.rstrip("\r"), result.delimiter, quote)
    if header is None:
        result.unreadable = f"header cannot be read (unbalanced quote): {header_line[:80]!r}"
        return None
    result.header = [h.strip() for h in header]
    return lines


def file_problems(parsed: DelimitedFile, max_damaged_share: float = MAX_DAMAGED_LINE_SHARE) -> list[str]:
    """Why the file as a whole cannot be built: unreadable, or more damaged lines than the share allows."""
    name = parsed.name
    if parsed.unreadable:
        return [f"{name}: {parsed.unreadable}"]
    if parsed.n_lines_read == 0:
        return [f"{name}: empty file (a header but no data rows)"]
    damaged = parsed.damaged
    if len(damaged) <= max_damaged_share * parsed.n_lines_read:
        return []
    share = f"{len(damaged)} of {parsed.n_lines_read} data lines damaged (more than {max_damaged_share:.0%}: not the declared layout)"
    encoding = [d for d in damaged if d.reason.startswith("not valid UTF-8")]
    if len(encoding) * 2 > len(damaged):
        first = encoding[0]
        return [f"{name}: not valid UTF-8 at line {first.line_number}{_hint(first.reason)}; {share}: "
                "re-encode the file as UTF-8"]
    named = ", ".join(f"line {d.line_number} {d.reason}" for d in damaged[:MAX_LINES_NAMED])
    more = f" ... and {len(damaged) - MAX_LINES_NAMED} more" if len(damaged) > MAX_LINES_NAMED else ""
    guess = ""
    if all(d.reason == _width_reason(1, len(parsed.header)) for d in damaged):
        guess = f" (wrong delimiter in the data lines? expected {DELIMITER_NAMES.get(parsed.delimiter, repr(parsed.delimiter))})"
    return [f"{name}: {share}: {named}{more}{guess}"]


# ----------------------------------------------------------------------------- line parsing


def _decoded(line: str | bytes) -> str | None:
    if isinstance(line, str):
        return line
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _undecodable_reason(line: bytes, what: str) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as err:
        byte = line[err.start:err.start + 1]
        try:
            hint = f"Windows-1252? byte 0x{byte.hex()} would be {byte.decode('cp1252')!r} there"
        except UnicodeDecodeError:
            hint = f"byte 0x{byte.hex()}; not Windows-1252 either"
        return f"not valid UTF-8 ({hint}) at character {err.start + 1} of {what}"
    return "not valid UTF-8"


def _hint(reason: str) -> str:
    """' (Windows-1252? ...)' from an undecodable line's reason."""
    start, end = reason.find(" ("), reason.find(") at character")
    return reason[start:end + 1] if start >= 0 and end > start else ""


def _width_reason(n_fields: int, width: int) -> str:
    return f"has {n_fields} field{'s' if n_fields != 1 else ''}, expected {width}"


def _split_line(text: str, delimiter: str, quote: str) -> list[str] | None:
    """One line on its own: its fields, or None when a quote stays open at its end."""
    if quote not in text:
        return text.split(delimiter)
    fields, last, problem = _quoted_record([text], 0, text, delimiter, quote)
    return None if problem or last != 0 else fields


def _quoted_record(lines, start: int, text: str, delimiter: str, quote: str):
    """Parse the record starting on lines[start] (already decoded as `text`), following a
    quoted field over line breaks. Returns (fields, index of its last line, problem or None).

    A field that starts with the quote is quoted: a doubled quote inside is one quote, and
    the closing quote must be followed by the delimiter or the end of the line. A quote
    inside an unquoted field is kept as a character. An empty unquoted field is null.
    """
    fields: list[str | None] = []
    current: list[str] = []
    index, pos = start, 0
    quoted = was_quoted = False
    at_field_start = True
    while True:
        if pos >= len(text):
            if quoted:  # the quoted field holds a line break: go on with the next line
                index += 1
                if index >= len(lines):
                    return fields, start, "unbalanced quote: a quoted field opened on this line is never closed"
                following = _decoded(lines[index])
                if following is None:
                    return fields, start, "unbalanced quote: a quoted field opened on this line runs into an undecodable line"
                current.append("\n")
                text = following[:-1] if following.endswith("\r") else following
                pos = 0
                continue
            value = "".join(current)
            fields.append(value if (value or was_quoted) else None)
            return fields, index, None
        char = text[pos]
        if quoted:
            if char == quote:
                if pos + 1 < len(text) and text[pos + 1] == quote:
                    current.append(quote)
                    pos += 2
                    continue
                quoted = False
                pos += 1
                if pos < len(text) and text[pos] != delimiter:
                    if index > start:  # the quote that opened on the first line was never meant to close here
                        return fields, start, "unbalanced quote: a quoted field opened on this line is never closed"
                    return fields, start, f"text after a closing quote: {text[max(0, pos - 10):pos + 10]!r}"
                continue
            current.append(char)
            pos += 1
            continue
        if char == delimiter:
            value = "".join(current)
            fields.append(value if (value or was_quoted) else None)
            current, was_quoted, at_field_start = [], False, True
            pos += 1
            continue
        if char == quote and at_field_start:
            quoted = was_quoted = True
            at_field_start = False
            pos += 1
            continue
        current.append(char)
        at_field_start = False
        pos += 1


def _swallows_a_record(lines, start: int, last: int, delimiter: str, quote: str, width: int) -> bool:
    """Does a multi-line quoted field hold, strictly inside, a line that is a whole record?
    Free text with a line break rarely has width - 1 delimiters on one line; an unbalanced
    quote that ran on into the next records does."""
    for index in range(start + 1, last):
        text = _decoded(lines[index])
        if text is not None and quote not in text and len(text.rstrip("\r").split(delimiter)) == width:
            return True
    return False
