"""fetch-source: the article's JATS XML from Europe PMC or PubMed Central's OAI service.

Run by hand (`ketamap fetch-source`) by a maintainer who is online, never by `dvc repro`, which
must work offline. The answer is kept as the server sent it (a PMC OAI answer keeps its
`<OAI-PMH>` envelope; the extractor finds the `<article>` inside), only after it proved to be
a JATS article holding the wanted table, and it lands atomically in data/raw/ beside a
`<file>.sha256` record (sha256sum format) that the extract stage checks. When nothing could be
fetched, nothing on disk changes.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core.problems import Problem, ProblemsFound

EUROPEPMC_URL = "https://www.ebi.ac.uk/europepmc/webservices/rest"
PMC_OAI_URL = "https://www.ncbi.nlm.nih.gov/pmc/oai/oai.cgi"
SERVERS = ("europepmc", "pmc")


def source_urls(pmcid: str, server: str = "auto", europepmc_url: str | None = None,
                pmc_url: str | None = None) -> list[tuple[str, str]]:
    """(server, URL) to try in order: Europe PMC's full-text XML, then PMC's OAI GetRecord."""
    number = pmcid.upper().removeprefix("PMC")
    urls = {
        "europepmc": f"{(europepmc_url or EUROPEPMC_URL).rstrip('/')}/PMC{number}/fullTextXML",
        "pmc": f"{pmc_url or PMC_OAI_URL}?verb=GetRecord&identifier=oai:pubmedcentral.nih.gov:{number}"
               "&metadataPrefix=pmc",
    }
    chosen = SERVERS if server == "auto" else (server,)
    return [(name, urls[name]) for name in chosen]


MAX_BYTES = 64 * 1024 * 1024  # a JATS article with its tables is a few megabytes


def download(url: str, timeout: float) -> bytes:
    """The body of a 200 answer through the one transport (pipeline.core.http): 429/5xx retried twice,
    the whole transfer within 10 × `timeout`; OSError (with a sentence for people) for anything else."""
    import requests

    from pipeline.core.http import GaveUp, Policy, Transport, connection_reason, status_retry

    transport = Transport(Policy(timeout=(timeout, timeout), retries=2, deadline=10 * timeout),
                          headers={"User-Agent": "ketamap fetch-source"})

    def attempt(clock):
        try:
            final, response = transport.open("GET", url, clock, stream=True)
        except requests.exceptions.Timeout:
            raise OSError(f"no answer within {timeout:g} s") from None
        except requests.exceptions.ConnectionError as error:
            if "resolve" in connection_reason(error):
                raise OSError("the host name could not be resolved (no internet?)") from None
            raise OSError("the server could not be reached (no internet, or the address is wrong)") from None
        except requests.exceptions.RequestException as error:
            raise OSError(f"the request failed ({type(error).__name__})") from None
        with response:
            retry = status_retry(response, final)
            if retry:
                return retry
            if response.status_code != 200:
                raise OSError(f"the server answered HTTP {response.status_code}")
            try:
                return transport.read_body(response, final, clock, None, max_bytes=MAX_BYTES).data
            except requests.exceptions.RequestException as error:
                raise OSError(f"the transfer broke off ({type(error).__name__})") from None

    try:
        return transport.retrying(attempt, url)
    except GaveUp as failed:
        raise OSError(f"the server answered HTTP {failed.last.status} ({failed.attempts} attempts)") from None


def check_payload(data: bytes, table_label: str, name: str) -> None:
    """Raise ProblemsFound unless `data` is a JATS article holding the table."""
    from pipeline.sources.jats import find_article, find_table_wrap
    from pipeline.sources.xml import parse_xml

    doc = parse_xml(data, name)
    article = find_article(doc, name)
    find_table_wrap(article, table_label, doc, name)


def pmcid_from_export(export: Path) -> str | None:
    from pipeline.sources.export import parse_metadata

    try:
        lines = export.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        return None
    return parse_metadata(lines, str(export), []).get("pmcid")


def fetch(target: Path, pmcid: str, server: str = "auto", europepmc_url: str | None = None,
          pmc_url: str | None = None, timeout: float = 30.0, table_label: str = "Table 1",
          force: bool = False) -> str:
    """Fetch, check and write the JATS file; return what happened. ProblemsFound when nothing was written."""
    from pipeline.core.files import atomic_write_bytes, atomic_write_text, sha256_bytes

    failures: list[Problem] = []
    for name, url in source_urls(pmcid, server, europepmc_url, pmc_url):
        try:
            data = download(url, timeout)
            check_payload(data, table_label, url)
        except OSError as error:
            failures.append(Problem("fetch-failed", f"{name}: {error}", file=url))
            continue
        except ProblemsFound as found:
            failures.extend(Problem(p.code, f"{name}: {p.message}", file=url, line=p.line, value=p.value)
                            for p in found.problems)
            continue
        digest = sha256_bytes(data)
        record = target.with_name(target.name + ".sha256")
        if target.exists() and target.read_bytes() == data:
            atomic_write_text(record, f"{digest}  {target.name}\n")
            return f"{target}: already up to date (sha256 {digest}, from {name})"
        if target.exists() and not force:
            raise ProblemsFound([Problem("target-exists", "a different file is already there; nothing was changed",
                                         file=str(target), suggestion="pass --force to replace it (then review "
                                         "`ketamap reconcile` and the data diff before committing)")])
        atomic_write_bytes(target, data)
        atomic_write_text(record, f"{digest}  {target.name}\n")
        return f"{target}: {len(data)} bytes from {url} (sha256 {digest}); recorded in {record.name}"
    raise ProblemsFound(failures + [Problem(
        "fetch-failed", f"could not fetch {pmcid}'s JATS XML; nothing was changed", file=str(target),
        suggestion="this needs internet access to Europe PMC or PMC; without it keep source.kind: export "
        "(or copy the XML into place by hand)")])
