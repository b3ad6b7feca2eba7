"""The command line and the Textual dashboard. Textual is imported only by the commands that draw."""
