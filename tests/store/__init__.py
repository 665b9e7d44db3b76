"""Stage 3: the store — engine, schema, loads, statistics, the data dictionary."""
