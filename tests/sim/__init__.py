"""Tests of etl/sim/, the simulator, one file per module."""
