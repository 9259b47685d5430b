"""The command line: ``main(argv) -> int`` in main.py, one module per subcommand."""
