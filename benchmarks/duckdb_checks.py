"""The contribution checks of `ketamap validate`, written as DuckDB SQL: the peer `bench_validate.py` times.

    python benchmarks/duckdb_checks.py FILE [MAX_ERRORS]

Reads FILE with every column as text, trims the cells and drops blank rows, then applies the same
rules: required cells, the vocabularies (molecule label or id, direction spellings and symbols in
any letter case, population, measure, region of the row's population or of another), the
species/population rule, the reference pattern, formula-like free text, invisible characters, and
across rows duplicates and contradictions on the finding key (molecule, measure, population,
region, species and qualifier in any case, references in any case). Prints the counts per problem
code and the first MAX_ERRORS problems (line, column, value) as JSON. What it does not do, and
`ketamap validate` does: word a message and a near-miss suggestion per problem, repair reference
spellings, order reference lists, compare with a package.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.contributions.normalise import _direction_spellings, _field  # noqa: E402
from pipeline.contributions.rules import contribution_schema  # noqa: E402
from pipeline.contributions.text import INVISIBLE  # noqa: E402
from pipeline.core.vocab import Vocabulary  # noqa: E402

COLUMNS = ["molecule", "measure", "direction", "population", "region", "species", "reference", "qualifier", "notes"]


def vocabulary_tables(con, vocab: Vocabulary) -> None:
    con.execute("CREATE TABLE molecules(spelling VARCHAR PRIMARY KEY, molecule_id VARCHAR, measure VARCHAR)")
    seen = {}
    for key in ("label", "molecule_id"):
        for molecule in vocab.molecules:
            seen.setdefault(molecule[key], (molecule["molecule_id"], molecule["measure"]))
    con.executemany("INSERT INTO molecules VALUES (?, ?, ?)", [(k, *v) for k, v in seen.items()])
    directions = {k.casefold(): v for k, v in _direction_spellings(vocab).items()}
    con.execute("CREATE TABLE directions(spelling VARCHAR PRIMARY KEY, direction VARCHAR)")
    con.executemany("INSERT INTO directions VALUES (?, ?)", list(directions.items()))
    con.execute("CREATE TABLE measures(measure VARCHAR PRIMARY KEY)")
    con.executemany("INSERT INTO measures VALUES (?)", [(m.casefold(),) for m in dict.fromkeys(vocab.measures)])
    regions = {}
    for region in vocab.regions:
        for key in ("label", "region_id"):
            regions.setdefault((region["population"], region[key].casefold()), region["region_id"])
    con.execute("CREATE TABLE regions(population VARCHAR, spelling VARCHAR, region_id VARCHAR)")
    con.executemany("INSERT INTO regions VALUES (?, ?, ?)", [(p, s, r) for (p, s), r in regions.items()])
    con.execute("CREATE TABLE known_regions AS SELECT DISTINCT spelling FROM regions")
    con.execute("CREATE TABLE populations(population VARCHAR)")
    con.executemany("INSERT INTO populations VALUES (?)", [(p,) for p in ("animal", "human")])
    con.execute("CREATE TABLE species(spelling VARCHAR PRIMARY KEY, name VARCHAR, population VARCHAR)")
    populations = {row["name"]: row["population"] for row in vocab.species}
    con.executemany("INSERT INTO species VALUES (?, ?, ?)",
                    [(key, name, populations[name]) for key, name in vocab.species_spellings.items()])


def checks_sql(schema: dict) -> str:
    reference = _field(schema, "reference")["constraints"]["pattern"]
    formula = _field(schema, "notes")["constraints"]["pattern"]
    required = [s["name"] for s in schema["fields"] if s.get("constraints", {}).get("required")]
    cell = []
    for name in required:
        cell.append(f"SELECT line, 'missing-value' AS code, '{name}' AS col, {name} AS value FROM norm WHERE {name} = ''")
    for name in COLUMNS:
        cell.append(f"SELECT line, 'invisible-character', '{name}', {name} FROM norm "
                    f"WHERE regexp_matches({name}, '{INVISIBLE}')")
    for name in ("species", "qualifier", "notes"):
        cell.append(f"SELECT line, 'formula-like', '{name}', {name} FROM norm "
                    f"WHERE {name} <> '' AND NOT regexp_full_match({name}, '{formula}')")
    cell += [
        "SELECT line, 'unknown-molecule', 'molecule', molecule FROM norm WHERE molecule <> '' AND molecule_id IS NULL",
        "SELECT line, 'unknown-direction', 'direction', direction FROM norm WHERE direction <> '' AND direction_norm IS NULL",
        "SELECT line, 'unknown-population', 'population', population FROM norm WHERE population <> '' "
        "AND population_norm IS NULL",
        "SELECT line, 'unknown-measure', 'measure', measure FROM norm WHERE measure <> '' AND measure_known IS NULL",
        "SELECT line, 'unknown-region', 'region', region FROM norm WHERE region <> '' AND NOT region_known",
        "SELECT line, 'region-population-mismatch', 'region', region FROM norm WHERE region <> '' AND region_known "
        "AND population_norm IS NOT NULL AND region_id IS NULL",
        "SELECT line, 'unknown-species', 'species', species FROM norm WHERE species <> '' AND species_name IS NULL",
        "SELECT line, 'species-population-mismatch', 'species', species FROM norm WHERE species_name IS NOT NULL AND "
        "population_norm IS NOT NULL AND species_population <> population_norm",
        "SELECT line, 'bad-reference', 'reference', reference FROM norm WHERE reference <> '' AND NOT reference_ok",
    ]
    trimmed = ", ".join(f"trim(coalesce({c}, '')) AS {c}" for c in COLUMNS)
    blank = " AND ".join(f"r.{c} = ''" for c in COLUMNS)
    key = "molecule_id, measure_final, population_norm, region_id, species_key, qualifier_key, references_key"
    return f"""
    CREATE TEMP TABLE norm AS
      SELECT r.*, m.molecule_id, d.direction AS direction_norm, p.population AS population_norm,
             ms.measure AS measure_known, coalesce(nullif(lower(r.measure), ''), m.measure) AS measure_final,
             rg.region_id, k.spelling IS NOT NULL AS region_known, sp.name AS species_name, sp.population AS species_population,
             regexp_full_match(r.reference, '{reference}(;{reference})*') AS reference_ok
      FROM (SELECT (row_number() OVER ()) + 1 AS line, {trimmed} FROM raw) r
      LEFT JOIN molecules m ON m.spelling = r.molecule
      LEFT JOIN directions d ON d.spelling = lower(r.direction)
      LEFT JOIN populations p ON p.population = lower(r.population)
      LEFT JOIN measures ms ON ms.measure = lower(r.measure)
      LEFT JOIN regions rg ON rg.population = lower(r.population) AND rg.spelling = lower(r.region)
      LEFT JOIN known_regions k ON k.spelling = lower(r.region)
      LEFT JOIN species sp ON sp.spelling = lower(regexp_replace(r.species, '\\s+', ' ', 'g'))
      WHERE NOT ({blank});
    CREATE TEMP TABLE cells AS {" UNION ALL ".join(cell)};
    CREATE TEMP TABLE keyed AS
      SELECT line, direction_norm, molecule, molecule_id, measure_final, population_norm, region_id,
             coalesce(species_name, lower(species)) AS species_key, lower(qualifier) AS qualifier_key, lower(reference) AS references_key
      FROM norm ANTI JOIN cells USING (line);
    CREATE TEMP TABLE across AS
      SELECT k.line, 'duplicate-row' AS code, NULL AS col, k.molecule AS value FROM keyed k
        JOIN (SELECT {key}, direction_norm, min(line) AS first FROM keyed GROUP BY ALL HAVING count(*) > 1) g
        USING ({key}, direction_norm) WHERE k.line <> g.first
      UNION ALL
      SELECT k.line, 'contradiction', 'direction', k.direction_norm FROM keyed k
        JOIN (SELECT {key}, arg_min(direction_norm, line) AS first FROM keyed GROUP BY ALL
              HAVING count(DISTINCT direction_norm) > 1) g
        USING ({key}) WHERE k.direction_norm <> g.first;
    """


def main() -> int:
    path, limit = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20
    vocab = Vocabulary()
    con = duckdb.connect()
    vocabulary_tables(con, vocab)
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in COLUMNS)
    quoted = path.replace("'", "''")
    con.execute(f"CREATE VIEW raw AS SELECT * FROM read_csv('{quoted}', header = true, columns = {{{columns}}}, "
                "quote = '\"', escape = '\"')")
    con.execute(checks_sql(contribution_schema(vocab)))
    counts = dict(con.execute("SELECT code, count(*) FROM (SELECT code FROM cells UNION ALL SELECT code FROM across) "
                              "GROUP BY code ORDER BY code").fetchall())
    first = con.execute("SELECT * FROM (SELECT * FROM cells UNION ALL SELECT * FROM across) ORDER BY line, code "
                        "LIMIT ?", [limit]).fetchall()
    print(json.dumps({"counts": counts, "errors": [dict(zip(("line", "code", "column", "value"), row))
                                                   for row in first]}))
    return 1 if counts else 0


if __name__ == "__main__":
    sys.exit(main())
