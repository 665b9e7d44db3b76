"""Stage 1: the Kiwoom client against the simulator on loopback."""
