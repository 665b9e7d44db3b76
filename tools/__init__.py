"""Developer tooling, run by dev.py and the tests: not installed, and no module of etl imports it.

- `data_dictionary`: renders docs/data-dictionary.md's column tables from the data dictionary (`python3 dev.py docs`).
"""
