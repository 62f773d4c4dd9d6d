"""The `loop-tui` command line: one thin module per subcommand over the plain Python layers."""
