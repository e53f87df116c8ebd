"""DVC stage entry points: settings in, one library call, files out.

Each module has `run(root) -> list[Problem]` (the warnings; problems that stop the stage are
raised as ProblemsFound). Nothing imports these but `pipeline.cli.stage`, which `dvc.yaml`
calls (`python -m pipeline.cli.stage NAME`) and which alone prints and chooses the exit code.
"""

STAGES = ("extract", "validate", "package", "report", "release")
