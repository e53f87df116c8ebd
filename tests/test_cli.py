"""`ketamap --help`: every command is listed, with a runnable example, and starts fast."""

from __future__ import annotations

import subprocess
import sys

from typer.main import get_command

from conftest import ROOT, tool_env
from pipeline.cli.app import app


def test_help_lists_every_command_with_an_example():
    result = subprocess.run([sys.executable, "-m", "pipeline", "--help"], cwd=ROOT, env=tool_env(),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    commands = get_command(app).commands
    assert commands, "ketamap has no commands"
    for name, command in commands.items():
        assert name in result.stdout
        assert "ketamap " + name in (command.help or ""), f"`ketamap {name}` has no example in its help"


def test_help_does_not_import_the_heavy_libraries():
    code = ("import sys; sys.argv = ['ketamap', '--help']\n"  # main(): the console script's run() ends in os._exit
            "from pipeline.cli.app import main\n"
            "try:\n    main()\n"
            "except SystemExit:\n    pass\n"
            "heavy = [m for m in ('pandas', 'polars', 'pandera', 'frictionless', 'dvc', 'requests') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=tool_env(), capture_output=True, text=True)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr
