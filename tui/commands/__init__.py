"""One module per `pipeline` subcommand, imported only when that subcommand runs (fast start-up)."""
