"""The read side: views, status, returns, report and exports."""
