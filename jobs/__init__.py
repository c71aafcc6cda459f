"""RQ job functions (thin: app context, call a service, report progress) and the worker entry."""
