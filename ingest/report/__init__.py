"""What people read: the market summary of the marts."""
