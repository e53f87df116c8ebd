"""A whole package checked in one columnar pass: hashes streamed, each table read once with polars.

For every resource of a datapackage.json: the sha256 (or md5) and byte count are streamed over
the file in 1 MiB blocks and compared with the descriptor's `hash` and `bytes`; the CSV is read
once with polars, every column as text (the resource's `missingValues`, blank by default, are
missing); then the resource's own Table Schema is applied column by column: field names and
order, types (integer, number, boolean, date, time, datetime, year), constraints (required,
enum, pattern, unique, minimum, maximum, minLength, maxLength), the primary key and the
foreign keys into the other resources. Codes are frictionless' own (what `ketamap validate`
reported when it ran frictionless row by row), so line (header = 1), column and value read the
same. Nothing remote is fetched: a table or schema given as a URL is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from pipeline.core.files import input_refusal, read_input
from pipeline.core.problems import Problem, ProblemsFound

Progress = Callable[[str], None]
BLOCK = 1 << 20
MAX_DESCRIPTOR = 64 << 20  # a descriptor or Table Schema file is JSON metadata, never this big

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|NaN|INF|-INF"
TYPE_PATTERNS = {  # the Table Schema's default formats, as full-match patterns
    "integer": r"[+-]?[0-9]+",
    "number": _NUMBER,
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "time": r"[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?",
    "datetime": r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?",
    "year": r"[+-]?[0-9]{4}",
}
TRUE_VALUES = ["true", "True", "TRUE", "1"]
FALSE_VALUES = ["false", "False", "FALSE", "0"]


def is_remote(ref: str) -> bool:
    return "://" in ref


def read_descriptor(descriptor: Path) -> dict:
    """The JSON of a datapackage.json (bounded read); ProblemsFound(unreadable-package) otherwise."""
    try:
        data = json.loads(read_input(descriptor, MAX_DESCRIPTOR).decode("utf-8"))
    except ProblemsFound:
        raise
    except (UnicodeDecodeError, ValueError) as error:
        raise ProblemsFound([Problem("unreadable-package", f"cannot read the package: {error}",
                                     file=str(descriptor))]) from None
    if not isinstance(data, dict) or not isinstance(data.get("resources"), list):
        raise ProblemsFound([Problem("unreadable-package", "cannot read the package: it has no list of resources",
                                     file=str(descriptor))])
    return data


def resource_schema(resource: dict, base: Path, descriptor: Path) -> dict:
    """The resource's Table Schema: inline, or a relative JSON file beside the descriptor (never a URL)."""
    schema = resource.get("schema")
    if isinstance(schema, str):
        if is_remote(schema):
            raise ProblemsFound([Problem("unreadable-package", "a Table Schema given as a URL is not fetched",
                                         file=str(descriptor), value=schema,
                                         suggestion="put the schema in datapackage.json or beside it")])
        schema = read_descriptor_like(base / schema)
    if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list):
        raise ProblemsFound([Problem("unreadable-package", f"the resource '{resource.get('name')}' has no Table "
                                     "Schema with fields", file=str(descriptor))])
    return schema


def read_descriptor_like(path: Path) -> dict:
    try:
        return json.loads(read_input(path, MAX_DESCRIPTOR).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ProblemsFound([Problem("unreadable-package", f"cannot read the Table Schema: {error}",
                                     file=str(path))]) from None


def stream_digest(path: Path, algorithm: str) -> tuple[str, int]:
    digest, size = hashlib.new(algorithm), 0
    with open(path, "rb") as fh:
        while block := fh.read(BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def check_integrity(resource: dict, path: Path, shown: str) -> list[Problem]:
    """hash-count / byte-count: the file against the descriptor's `hash` and `bytes`."""
    declared = resource.get("hash")
    algorithm, expected = "md5", declared
    if isinstance(declared, str) and ":" in declared:
        algorithm, expected = declared.split(":", 1)
    if algorithm not in ("md5", "sha1", "sha256", "sha512"):
        algorithm, expected = "sha256", None
    actual, size = stream_digest(path, algorithm)
    problems = []
    if isinstance(expected, str) and expected.lower() != actual:
        problems.append(Problem("hash-count", f'The data source does not match the expected hash count: expected '
                                f'{algorithm} is "{expected}" and actual is "{actual}"', file=shown))
    if isinstance(resource.get("bytes"), int) and resource["bytes"] != size:
        problems.append(Problem("byte-count", f'The data source does not match the expected byte count: expected is '
                                f'"{resource["bytes"]}" and actual is "{size}"', file=shown))
    return problems


def read_text_table(path: Path, resource: dict, schema: dict, shown: str):
    """(frame of text columns with missing values as null, problems): one polars read."""
    import polars as pl

    dialect = resource.get("dialect") if isinstance(resource.get("dialect"), dict) else {}
    missing = schema.get("missingValues", [""])
    try:
        frame = pl.read_csv(path, infer_schema=False, separator=dialect.get("delimiter", ","),
                            quote_char=dialect.get("quoteChar", '"'), has_header=True,
                            empty_string_is_null="" in missing, encoding="utf8", raise_if_empty=False)
    except (pl.exceptions.PolarsError, OSError, ValueError) as error:
        text = str(error).lower()
        code = "encoding-error" if "utf-8" in text or "utf8" in text else "source-error"
        return None, [Problem(code, f"The table cannot be read: {_first_line(error)}", file=shown)]
    others = [m for m in missing if m != ""]
    if others and frame.width:
        frame = frame.with_columns(pl.when(pl.col(c).is_in(others)).then(None).otherwise(pl.col(c)).alias(c)
                                   for c in frame.columns)
    frame = frame.with_columns(pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("__line"))
    if not frame.width > 1:
        return frame, []
    blank = pl.all_horizontal(pl.exclude("__line").is_null())
    problems = [Problem("blank-row", f'Row at position "{line}" is completely blank', file=shown, line=line)
                for line in frame.filter(blank)["__line"].to_list()]
    return frame.filter(~blank), problems


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def check_header(frame, schema: dict, shown: str) -> list[Problem]:
    expected = [f["name"] for f in schema["fields"]]
    names = [c for c in frame.columns if c != "__line"]
    if names == expected:
        return []
    return [Problem("header-mismatch", "the columns differ from the Table Schema", file=shown, line=1,
                    value=",".join(names), suggestion="expected " + ",".join(expected))]


def typed_column(field: dict):
    """(polars expression giving the typed value or null, expression True where the text is not of the type)."""
    import polars as pl

    name, kind = field["name"], field.get("type", "string")
    text = pl.col(name)
    if kind == "boolean":
        trues, falses = field.get("trueValues", TRUE_VALUES), field.get("falseValues", FALSE_VALUES)
        typed = pl.when(text.is_in(trues)).then(True).when(text.is_in(falses)).then(False).otherwise(None)
        return typed, text.is_not_null() & ~text.is_in(trues + falses)
    if kind in TYPE_PATTERNS:
        bad = text.is_not_null() & ~text.str.contains(f"^(?:{TYPE_PATTERNS[kind]})$")
        if kind == "integer":
            typed = text.str.strip_prefix("+").cast(pl.Int64, strict=False)
            bad = bad | (text.is_not_null() & typed.is_null())  # beyond 64 bits
        elif kind == "number":
            typed = text.cast(pl.Float64, strict=False)
        elif kind == "date":
            typed = text.str.to_date("%Y-%m-%d", strict=False)
            bad = bad | (text.is_not_null() & typed.is_null())  # 2024-02-30
        elif kind == "year":
            typed = text.cast(pl.Int64, strict=False)
        else:
            typed = text
        return typed, bad
    return text, pl.lit(False)


def _cell(code: str, row: int, field: str, position: int, value, note: str) -> str:
    cell = "" if value is None else str(value)
    what = {"type-error": "type error", "constraint-error": "does not conform to a constraint",
            "unique-error": "is not unique"}[code]
    return f'The cell "{cell}" in row at position "{row}" and field "{field}" at position "{position}" {what}: {note}'


def check_fields(frame, schema: dict, shown: str):
    """Types and constraints of every field; returns (typed frame, problems)."""
    import polars as pl

    problems: list[Problem] = []
    typed_exprs, checks = [], []  # checks: (code, field, position, note, expression True where it fails)
    for position, field in enumerate(schema["fields"], start=1):
        name, kind = field["name"], field.get("type", "string")
        typed, bad_type = typed_column(field)
        typed_exprs.append(typed.alias(name))
        checks.append(("type-error", name, position, f'type is "{kind}/{field.get("format", "default")}"', bad_type))
        constraints = field.get("constraints") or {}
        if constraints.get("required"):
            checks.append(("constraint-error", name, position, 'constraint "required" is "True"', pl.col(name).is_null()))
    text = frame
    problems += _collect(text, checks, shown)
    typed_frame = text.select("__line", *typed_exprs)
    bad_types = {(p.line, p.column) for p in problems if p.code == "type-error"}
    checks = []
    for position, field in enumerate(schema["fields"], start=1):
        checks += _constraint_checks(field, position, typed_frame.schema[field["name"]])
    problems += [p for p in _collect(typed_frame, checks, shown, text) if (p.line, p.column) not in bad_types]
    return typed_frame, problems


def _constraint_checks(field: dict, position: int, dtype) -> list:
    import polars as pl

    name = field["name"]
    column = pl.col(name)
    constraints = field.get("constraints") or {}
    checks = []
    for key, value in constraints.items():
        note = f'constraint "{key}" is "{value}"'
        if key == "enum" and isinstance(value, list):
            allowed = pl.Series(value).cast(dtype, strict=False) if dtype != pl.String else pl.Series(value, dtype=pl.String)
            checks.append(("constraint-error", name, position, note,
                           column.is_not_null() & ~column.is_in(allowed.implode())))
        elif key == "pattern" and isinstance(value, str):
            checks.append(("constraint-error", name, position, note,
                           column.is_not_null() & ~column.cast(pl.String).str.contains(f"^(?:{value})$")))
        elif key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") and dtype.is_numeric():
            bound = pl.lit(value)
            fails = {"minimum": column < bound, "maximum": column > bound,
                     "exclusiveMinimum": column <= bound, "exclusiveMaximum": column >= bound}[key]
            checks.append(("constraint-error", name, position, note, column.is_not_null() & fails))
        elif key in ("minLength", "maxLength") and dtype == pl.String:
            length = column.str.len_chars()
            fails = length < value if key == "minLength" else length > value
            checks.append(("constraint-error", name, position, note, column.is_not_null() & fails))
        elif key == "unique" and value:
            checks.append(("unique-error", name, position, 'the same as in another row',
                           column.is_not_null() & column.is_duplicated()))
    return checks


def _collect(frame, checks: list, shown: str, text_frame=None) -> list[Problem]:
    """Problems for every row where a check's expression is True: one filter per check, values as text."""
    import polars as pl

    if not checks:
        return []
    flags = frame.select(pl.col("__line"), *[c[4].fill_null(False).alias(f"__{i}") for i, c in enumerate(checks)])
    any_bad = flags.select(pl.any_horizontal(pl.exclude("__line")).any()).item() if flags.width > 1 else False
    if not any_bad:
        return []
    source = text_frame if text_frame is not None else frame
    problems = []
    for i, (code, name, position, note, _) in enumerate(checks):
        mask = flags[f"__{i}"]
        if not mask.any():
            continue
        rows = source.select("__line", pl.col(name).cast(pl.String)).filter(mask)
        for row, value in rows.iter_rows():
            problems.append(Problem(code, _cell(code, row, name, position, value, note), file=shown, line=row,
                                    column=name, value=value))
    return problems


def check_primary_key(frame, schema: dict, shown: str) -> list[Problem]:
    import polars as pl

    key = schema.get("primaryKey")
    key = [key] if isinstance(key, str) else key
    if not key or not all(k in frame.columns for k in key):
        return []
    rows = frame.filter(pl.struct(key).is_duplicated() & pl.all_horizontal(pl.col(k).is_not_null() for k in key))
    return [Problem("primary-key", f'Row at position "{row["__line"]}" violates the primary key: the same as in '
                    f'another row: {", ".join(str(row[k]) for k in key)}', file=shown, line=row["__line"],
                    column=key[0], value=", ".join(str(row[k]) for k in key)) for row in rows.iter_rows(named=True)]


def check_foreign_keys(name: str, tables: dict, schemas: dict, shown: str) -> list[Problem]:
    import polars as pl

    problems = []
    frame = tables[name]
    for fk in schemas[name].get("foreignKeys") or []:
        fields = [fk["fields"]] if isinstance(fk.get("fields"), str) else fk.get("fields") or []
        ref = fk.get("reference") or {}
        target = ref.get("resource") or name
        ref_fields = [ref["fields"]] if isinstance(ref.get("fields"), str) else ref.get("fields") or []
        if target not in tables or len(fields) != len(ref_fields) or not all(f in frame.columns for f in fields):
            continue
        keys = tables[target].select([pl.col(r).cast(pl.String).alias(f) for f, r in zip(fields, ref_fields)]).unique()
        probe = frame.select("__line", *[pl.col(f).cast(pl.String) for f in fields])
        probe = probe.filter(pl.all_horizontal(pl.col(f).is_not_null() for f in fields))
        for row in probe.join(keys, on=fields, how="anti").sort("__line").iter_rows(named=True):
            value = ", ".join(str(row[f]) for f in fields)
            problems.append(Problem("foreign-key", f'Row at position "{row["__line"]}" violates the foreign key: '
                                    f'for "{", ".join(fields)}": values "{value}" not found in the lookup table '
                                    f'"{target}" as "{", ".join(ref_fields)}"', file=shown, line=row["__line"],
                                    column=fields[0], value=value))
    return problems


def check_resources(descriptor: Path, progress: Progress | None = None) -> tuple[dict, dict, dict, list[Problem]]:
    """Every resource of the package: (typed tables, schemas, shown paths, problems) by resource name."""
    say = progress or (lambda text: None)
    descriptor = Path(descriptor)
    package = read_descriptor(descriptor)
    base = descriptor.parent
    tables, schemas, shown, problems = {}, {}, {}, []
    resources = [r for r in package["resources"] if isinstance(r, dict)]
    for number, resource in enumerate(resources, start=1):
        name, relative = str(resource.get("name")), resource.get("path")
        if not isinstance(relative, str) or is_remote(relative) or Path(relative).is_absolute() or ".." in Path(relative).parts:
            problems.append(Problem("unreadable-package", f"the resource '{name}' has no local relative path "
                                    "(nothing remote is fetched)", file=str(descriptor), value=str(relative)))
            continue
        path = base / relative
        shown[name] = str(path)
        if refusal := input_refusal(path):  # a FIFO or /dev/zero as a table would block or never end
            problems.append(refusal)
            continue
        schemas[name] = resource_schema(resource, base, descriptor)
        size = path.stat().st_size
        say(f"[{number}/{len(resources)}] {relative}: checking sha256 of {size / 1e6:,.1f} MB")
        problems += check_integrity(resource, path, str(path))
        table, table_problems = check_table(path, resource, schemas[name], str(path), str(descriptor), name,
                                            lambda text: say(f"[{number}/{len(resources)}] {relative}: {text}"))
        problems += table_problems
        if table is not None:
            tables[name] = table
    for name in tables:
        problems += check_foreign_keys(name, tables, schemas, shown[name])
    return tables, schemas, shown, problems


def check_table(path: Path, resource: dict, schema: dict, shown: str, schema_file: str, name: str,
                say: Progress = lambda text: None) -> tuple[object | None, list[Problem]]:
    """One CSV against its Table Schema (read, header, types, constraints, primary key): the typed
    table (None when it cannot be typed) and every problem; foreign keys need the other tables."""
    import polars as pl

    say("reading")
    frame, problems = read_text_table(path, resource, schema, shown)
    if frame is None:
        return None, problems
    if header := check_header(frame, schema, shown):
        return None, problems + header
    say(f"checking {frame.height:,} rows against the Table Schema")
    try:
        table, field_problems = check_fields(frame, schema, shown)
    except (pl.exceptions.PolarsError, TypeError, ValueError) as error:  # e.g. a pattern no regex engine takes
        return None, problems + [Problem("schema-error", f"the Table Schema cannot be applied: {_first_line(error)}",
                                         file=schema_file, value=name)]
    return table, problems + field_problems + check_primary_key(table, schema, shown)
