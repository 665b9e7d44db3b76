"""The daemon in process, with a controlled clock."""
