"""Home departments and the items each handles (routing)."""
