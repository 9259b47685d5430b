from batchspec.cli.main import entrypoint

entrypoint()
