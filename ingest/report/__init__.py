"""What people read: the market summary (terminal) and the market report (a static site) of the marts."""
