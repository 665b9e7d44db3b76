"""Stage 4: the write side's jobs against the simulator over HTTP into a real database."""
