"""Behaviour across the whole house: kill -9, the fault matrix, the daemon as a process, failover, hostile input,
broken databases, secrets, outputs, scaling."""
