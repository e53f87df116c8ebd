"""Rules across rows: a file's rows against each other and against the findings already in the package.

Two rows are the same finding when they agree on FINDING_KEY and direction; they contradict each
other when they agree on FINDING_KEY and not on direction. The package's findings are indexed
by the same key, so a contributed row that repeats or contradicts a published one is found too.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core.files import csv_cell, read_csv

# What makes two rows the same finding (with direction) or a contradiction (without it).
# Rows that agree on CANDIDATE_KEY are compared further (case-folded species and qualifier).
CANDIDATE_KEY = ("molecule_id", "measure_final", "population_norm", "region_id", "references_key")
FINDING_KEY = (*CANDIDATE_KEY, "species_key", "qualifier_key")
SAME = "molecule, measure, population, region, species, qualifier and reference"
FILE = "_file"  # which of several files checked together a row (and its problem) belongs to


def row_failures(rows, package_findings: PackageIndex | list[dict[str, str]] | None) -> list:
    """Rules across rows (duplicates, contradictions) and against the package, on rows whose cells passed.

    A hash of each row's finding key finds the few candidate rows first; the exact comparisons
    (window functions, joins) then run on those alone. Rows of several files (a FILE column, as the
    build checks them together) are compared with the rows of their own file only, and the problem
    rows keep their FILE.
    """
    import polars as pl

    key = list(FINDING_KEY)
    by = [FILE] if FILE in rows.columns else []
    failures = []

    def add(frame, mask, code, column, describe, keys, value=None):
        found = problem_rows(frame, mask, code, column, describe, keys, value)
        if found is not None:
            failures.append(found)

    rows = rows.with_columns(_key_hash=key_hash(rows))
    twice = pl.struct(*by, "_key_hash").is_duplicated() if by else pl.col("_key_hash").is_duplicated()
    repeated = _with_folded_keys(rows.filter(twice)).with_columns(
        first_same=pl.col("line").min().over([*by, *key, "direction_norm"]),
        first_line=pl.col("line").min().over([*by, *key]),
        first_direction=pl.col("direction_norm").sort_by("line").first().over([*by, *key]),
    )
    add(repeated, pl.col("line") != pl.col("first_same"), "duplicate-row", None,
        lambda first: (f"the row repeats line {first} (the same finding twice)", "delete one of the two rows"),
        ["first_same"], pl.col("molecule"))
    add(repeated, pl.col("direction_norm") != pl.col("first_direction"), "contradiction", "direction",
        lambda first, before, now: (f"line {first} says {before} for the same {SAME}; this row says {now}",
                                    "check both rows against the study; keep the one it reports"),
        ["first_line", "first_direction", "direction_norm"])
    index = package_findings if isinstance(package_findings, PackageIndex) else PackageIndex.of(package_findings)
    package = index.candidates(rows["_key_hash"])
    if package is None:
        return failures
    package = _with_folded_keys(package)
    known = _with_folded_keys(rows.filter(pl.col("_key_hash").is_in(package["_key_hash"].implode())))
    same = known.join(package.unique([*key, "direction_norm"], keep="first", maintain_order=True),
                      on=[*key, "direction_norm"], how="inner", maintain_order="left")
    add(same, pl.lit(True), "already-in-package", None,
        lambda fid: (f"the package already has this finding ({fid})", "delete the row"),
        ["finding_id"], pl.col("molecule"))
    opposite = (known.join(package.rename({"direction_norm": "package_direction"}), on=key, how="inner",
                           maintain_order="left")
                .filter(pl.col("direction_norm") != pl.col("package_direction"))
                .unique([*by, "line"], keep="first", maintain_order=True))
    add(opposite, pl.lit(True), "contradicts-package", "direction",
        lambda fid, before, now: (f"the package's finding {fid} says {before} for the same {SAME}; this row says {now}",
                                  "check the row against the study; if the package is wrong, say so in your pull request"),
        ["finding_id", "package_direction", "direction_norm"])
    return failures


class Across:
    """The rules across rows for a file checked chunk by chunk (`pipeline.contributions.rules.check_sheet`).

    Of each chunk only the line and the candidate-key hash of its rows whose cells passed are kept
    (16 bytes a row), and a way to build those rows in full again (`rows(lines)`: kept for the first
    chunk, or for all with `keep_all`). At the end the rows whose hash repeats in the file or is in
    the package are built in full (for a file of several chunks, by `reread(lines)`: a second pass
    over the chunks holding them) and compared exactly by `row_failures`, so a duplicate or
    contradiction across chunks is found as within one, with the same messages.
    """

    def __init__(self, package_findings: PackageIndex | list[dict[str, str]] | None, keep_all: bool = False):
        self.index = package_findings if isinstance(package_findings, PackageIndex) else \
            PackageIndex.of(package_findings)
        self.keep_all = keep_all
        self._builders: list = []
        self._keys: list = []

    def add(self, keys, rows) -> None:
        """A chunk's (line, _key_hash) and `rows(lines=None)`, which builds its rows in full."""
        self._keys.append(keys)
        self._builders = self._builders + [rows] if self.keep_all or len(self._keys) == 1 else []

    def failures(self, reread):
        """The problem rows across rows (or None); `reread(lines)` yields those lines' rows again, chunk by chunk."""
        import polars as pl

        keys = pl.concat(self._keys, how="vertical") if self._keys else None
        if keys is None or keys.height == 0:
            return None
        if self.keep_all:
            rows = self.rows()
        else:
            hashes = keys["_key_hash"].sort()  # neighbours in sorted order: far cheaper than a hash set of them all
            wanted = pl.concat([hashes.filter(hashes == hashes.shift(1)), self.index.hashes()]).unique()
            lines = keys.filter(pl.col("_key_hash").is_in(wanted.implode()))["line"].to_list() if wanted.len() else []
            if not lines:
                return None
            built = [self._builders[0](lines)] if len(self._keys) == 1 else list(reread(lines))
            rows = pl.concat([frame for frame in built if frame is not None], how="vertical")
        found = row_failures(rows, self.index) if rows.height else []
        return pl.concat(found, how="vertical") if found else None

    def rows(self):
        """Every kept row in full (`keep_all`)."""
        import polars as pl

        return pl.concat([build(None) for build in self._builders], how="vertical")

    def valid(self, found):
        """The kept rows (`keep_all`) that no rule across rows flagged."""
        import polars as pl

        later = found["line"].unique().implode() if found is not None else pl.lit([], pl.List(pl.Int64))
        return self.rows().filter(~pl.col("line").is_in(later))


class PackageIndex:
    """The package's located findings, keyed like contributed rows: built once, extended per accepted file.

    Each chunk keeps the hash of its rows' candidate key, so checking a file costs one scan of the
    hashes (in polars) and joins on the few candidate rows, whatever the number of files folded in
    before it: the build checks N files in time linear in their rows, and `ketamap validate` reads
    only the key columns of a big package's findings.csv.
    """

    def __init__(self, frame=None, path: Path | None = None):
        self._frame = None
        self._path = path
        self._cached: Path | None = None  # the keyed frame on disk, read only where a lookup needs it
        self._rows: list[dict[str, str]] | None = None
        self._add_frame(frame)

    @classmethod
    def of(cls, findings: list[dict[str, str]] | None) -> "PackageIndex":
        index = cls(_package_frame(findings))
        index._rows = list(findings or [])
        return index

    @classmethod
    def read(cls, path: Path) -> "PackageIndex":
        """The findings table of a package, read as text (only the key columns); ValueError if unreadable.

        The keyed frame is kept in a cache (`cache_file`: a Parquet file named by the table's path,
        size, times and inode and by the polars version, whose hashes it holds), so a check against
        an unchanged package of a million findings reads 8 MB of hashes, not the 200 MB table."""
        import polars as pl

        cached = cache_file(path)
        if cached is not None and cached.is_file() and _readable_cache(cached):
            index = cls(None, path)
            index._cached = cached
            return index
        try:
            frame = pl.read_csv(path, columns=list(PACKAGE_COLUMNS), infer_schema=False, empty_string_is_null=False)
        except (pl.exceptions.PolarsError, OSError) as error:
            raise ValueError(str(error).splitlines()[0] if str(error) else type(error).__name__) from None
        index = cls(_keyed(frame), path)
        if cached is not None and index._frame is not None:
            _write_cache(index._frame, cached)
        return index

    def _loaded(self):
        import polars as pl

        if self._frame is None and self._cached is not None:
            self._frame, self._cached = pl.read_parquet(self._cached), None
        return self._frame

    def rows(self) -> list[dict[str, str]]:
        """Every finding as a dict (read on first use: curation files check finding ids against them)."""
        if self._rows is None:
            self._rows = read_csv(self._path) if self._path is not None else []
        return self._rows

    def add(self, findings: list[dict]) -> None:
        self._loaded()
        self._add_frame(_package_frame(findings))
        if self._rows is not None:
            self._rows += findings

    def _add_frame(self, frame) -> None:
        import polars as pl

        if frame is not None and frame.height:
            keyed = frame.with_columns(_key_hash=key_hash(frame))
            # one frame of many chunks: appending is cheap, and a lookup is one scan in polars, not one per file
            self._frame = keyed if self._frame is None else pl.concat([self._frame, keyed], rechunk=False)

    def hashes(self):
        """The candidate-key hash of every finding (UInt64; empty without findings)."""
        import polars as pl

        if self._frame is None and self._cached is not None:
            return pl.read_parquet(self._cached, columns=["_key_hash"])["_key_hash"]
        return self._frame["_key_hash"] if self._frame is not None else pl.Series("_key_hash", [], dtype=pl.UInt64)

    def candidates(self, hashes):
        """The package's rows whose candidate-key hash is among `hashes`, or None."""
        import polars as pl

        wanted = pl.col("_key_hash").is_in(hashes.unique().implode())
        if self._frame is None and self._cached is not None:
            found = pl.scan_parquet(self._cached).filter(wanted).collect()
        elif self._frame is None:
            return None
        else:
            found = self._frame.filter(wanted)
        return found if found.height else None


def cache_file(path: Path) -> Path | None:
    """Where the keyed frame of the findings table `path` is cached, or None (no cache folder): in
    $KETAMAP_CACHE, else $XDG_CACHE_HOME/ketamap, else ~/.cache/ketamap. Its name changes whenever
    the table could have (path, size, modification and change times, inode) and with polars' version."""
    import hashlib
    import os

    import polars as pl

    folder = os.environ.get("KETAMAP_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "ketamap")
    try:
        info = os.stat(path)
    except OSError:
        return None
    stamp = f"{os.path.abspath(path)}|{info.st_size}|{info.st_mtime_ns}|{info.st_ctime_ns}|{info.st_ino}|" \
            f"{pl.__version__}|{CACHE_FORMAT}"
    return Path(folder) / "package-index" / (hashlib.sha256(stamp.encode("utf-8")).hexdigest() + ".parquet")


def _readable_cache(cached: Path) -> bool:
    """A cache whose Parquet footer and columns read back; a damaged one is removed (it is rebuilt)."""
    import polars as pl

    try:
        if "_key_hash" in pl.read_parquet_schema(cached):
            return True
    except (pl.exceptions.PolarsError, OSError):
        pass
    try:
        cached.unlink()
    except OSError:
        pass
    return False


CACHE_FORMAT = 3  # raise when the keyed frame's columns or key_hash change


def _write_cache(frame, target: Path) -> None:
    """Write the cache atomically; a cache that cannot be written is skipped (it only saves time)."""
    import os
    import tempfile

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".index-", suffix=".parquet", dir=target.parent)
        os.close(handle)
        frame.write_parquet(temporary)
        os.replace(temporary, target)
    except OSError:
        try:
            os.unlink(temporary)
        except (OSError, UnboundLocalError):
            pass


def _with_folded_keys(frame):
    import polars as pl

    return frame.with_columns(species_key=pl.col("species").str.to_lowercase(),
                              qualifier_key=pl.col("qualifier").str.to_lowercase())


def key_hash(frame, located=None):
    """One 64-bit hash per row of its CANDIDATE_KEY (equal keys, equal hashes, within one process): the
    hash of the references key and of `located`, the hash of the other four columns (`located_hash`;
    a checker computes it once per distinct combination of them)."""
    import polars as pl

    located = located_hash(frame) if located is None else located
    return pl.DataFrame([located.alias("located"), frame["references_key"]]).hash_rows(seed=20221)


def located_hash(frame):
    """The hash of a row's molecule, measure, population and region (CANDIDATE_KEY but the references)."""
    return frame.select(list(CANDIDATE_KEY[:4])).hash_rows(seed=20221)


PACKAGE_COLUMNS = ("finding_id", "molecule_id", "measure", "direction", "population", "region_id", "species",
                   "references", "qualifier")


def _package_frame(package_findings: list[dict[str, str]] | None):
    """The package's located findings, keyed like contributed rows."""
    import polars as pl

    if not package_findings:
        return None
    frame = pl.DataFrame([{n: csv_cell(row.get(n)) for n in PACKAGE_COLUMNS} for row in package_findings],
                         schema={n: pl.String for n in PACKAGE_COLUMNS})
    return _keyed(frame)


def _keyed(frame):
    """The located findings with the candidate key's columns; species and qualifier as written (they
    are case-folded only for the few candidates a check compares exactly)."""
    import polars as pl

    frame = frame.filter(pl.col("region_id") != "")
    return frame.select(
        "finding_id", "molecule_id", "region_id",
        measure_final=pl.col("measure"), population_norm=pl.col("population"), direction_norm=pl.col("direction"),
        species="species", qualifier="qualifier", references_key=references_key(frame["references"]),
    )


def problem_rows(rows, mask, code: str, column: str | None, describe, keys=None, value=None, severity: str = "error"):
    """The rows where `mask` holds as problem rows (line, code, column, value, message, suggestion,
    severity). `describe(*keys)` words the message and suggestion once per distinct key."""
    import polars as pl

    keys = keys or [column]
    value = value if value is not None else pl.col(column)
    carried = [FILE] if FILE in rows.columns else []
    bad = (rows.select(mask.fill_null(False).alias("_mask"), "line", *keys, value.cast(pl.String).alias("_value"),
                       *carried).filter("_mask").drop("_mask"))
    if bad.height == 0:
        return None
    distinct = bad.select(keys).unique(maintain_order=True)
    words = [describe(*key) for key in distinct.iter_rows()]
    distinct = distinct.with_columns(_message=pl.Series([m for m, _ in words], dtype=pl.String),
                                     _suggestion=pl.Series([s for _, s in words], dtype=pl.String))
    return bad.join(distinct, on=keys, how="left", maintain_order="left", nulls_equal=True).select(
        "line", pl.lit(code).alias("code"), pl.lit(column, dtype=pl.String).alias("column"),
        pl.col("_value").alias("value"), pl.col("_message").alias("message"),
        pl.col("_suggestion").alias("suggestion"), pl.lit(severity).alias("severity"), *carried)


def references_key(series, lists=None, candidates=None):
    """The references as a key: the cells holding a DOI case-folded (DOIs are case-insensitive; a
    PMID has one spelling once canonical, `PMID:` and digits), and a list order-free. `candidates`:
    the positions of every cell that may be a list or hold a DOI (by default one pass finds them, and
    only those cells are read again); `lists`, the positions of the cells holding several, spares
    reading them for a ';'."""
    if candidates is None:
        candidates = series.str.contains_any([";", "10."]).fill_null(False).arg_true()
    few = series.gather(candidates)
    dois = candidates.filter(few.str.contains("10.", literal=True).fill_null(False))
    key = series if dois.len() == 0 else series.clone().scatter(dois, series.gather(dois).str.to_lowercase())
    positions = lists if lists is not None else candidates.filter(few.str.contains(";", literal=True).fill_null(False))
    if positions.len() == 0:
        return key
    return (key.clone() if key is series else key).scatter(positions, order_free(key.gather(positions)))


def order_free(series):
    """A reference list as a key: its items deduplicated and sorted (order does not make a new finding)."""
    return series.str.split(";").list.unique().list.sort().list.join(";")
