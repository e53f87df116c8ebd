from pipeline.cli.app import run

run()
