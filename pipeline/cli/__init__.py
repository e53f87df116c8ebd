"""The command line: the only code that prints or chooses an exit code.

`app.py` is the `ketamap` Typer app (a thin function per command over the library); `stage.py` runs
a DVC stage (`python -m pipeline.cli.stage NAME`); the other modules turn a library call's result
or problems into output and an exit code.
"""
