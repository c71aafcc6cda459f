"""Services: the one place where the database meets the engines."""
