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
