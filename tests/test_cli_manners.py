"""Command-line manners: `ketamap --version`, shell completion, a fast `--help`."""

from __future__ import annotations

import resource
import subprocess
from pathlib import Path

from conftest import tool_env

import pipeline


def ketamap(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    environment = {**tool_env(), **(env or {})}
    command = Path(environment["PATH"].split(":")[0]) / "ketamap"
    return subprocess.run([str(command), *args], env=environment, cwd=cwd, capture_output=True, text=True)


def test_version_prints_the_tools_version(tmp_path: Path):
    done = ketamap("--version", cwd=tmp_path)  # anywhere: it needs no params.yaml
    assert (done.returncode, done.stdout, done.stderr) == (0, f"ketamap {pipeline.__version__}\n", "")


def test_shell_completion_is_offered_and_completes_commands_and_options():
    helped = ketamap("--help", env={"COLUMNS": "120"}).stdout
    assert "--install-completion" in helped and "--show-completion" in helped and "--version" in helped
    # `--show-completion` names the shell it runs under (typer asks the process tree, not $SHELL or an
    # argument): run it from bash, as a user types it, so the test holds under any parent process
    command = Path(tool_env()["PATH"].split(":")[0]) / "ketamap"
    script = subprocess.run(["bash", "-c", f"'{command}' --show-completion; exit $?"], env=tool_env(),
                            capture_output=True, text=True)
    assert script.returncode == 0 and "_KETAMAP_COMPLETE" in script.stdout, script.stderr
    commands = ketamap(env={"_KETAMAP_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "ketamap val"})
    assert "validate" in commands.stdout
    options = ketamap(env={"_KETAMAP_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "ketamap validate --for"})
    assert "--format" in options.stdout


def _cpu_seconds(*args: str) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = ketamap(*args)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 0, done.stderr
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def test_help_starts_fast():
    """Under 0.5 s of CPU (not wall time: the suite shares the machine); heavy imports wait for a command."""
    best = min(_cpu_seconds("--help") for _ in range(3))
    assert best < 0.5, f"ketamap --help took {best:.2f} s of CPU"


def _invalid_rows(path: Path, rows: int) -> Path:
    lines = ["molecule,measure,direction,population,region,species,reference,qualifier,notes"]
    lines += [f"BDNF,,sideways,animal,HPC,rat,PMID:{10000000 + i},," for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_long_report_arrives_whole_with_its_exit_code(tmp_path: Path):
    """The console script skips the interpreter's teardown: what it printed is flushed first."""
    import json

    path = _invalid_rows(tmp_path / "many.csv", 3000)
    done = ketamap("validate", str(path), "--no-package", "--format", "json", "--max-errors", "0", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    errors = json.loads(done.stdout)["files"][0]["errors"]
    assert [error["line"] for error in errors] == list(range(2, 3002))


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path):
    """`ketamap validate … | head` : the tool stops quietly when the pipe closes."""
    path = _invalid_rows(tmp_path / "many.csv", 3000)  # a report far bigger than a pipe's buffer
    command = Path(tool_env()["PATH"].split(":")[0]) / "ketamap"
    run = subprocess.Popen([str(command), "validate", str(path), "--no-package", "--format", "json",
                            "--max-errors", "0"], cwd=tmp_path, env=tool_env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    assert run.stdout.read(10)
    run.stdout.close()
    stderr = run.stderr.read().decode()
    run.wait(timeout=60)
    assert run.returncode in (1, 120) or run.returncode < 0, run.returncode
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
