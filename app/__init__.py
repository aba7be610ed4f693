"""SVC Studio desktop GUI (PySide6). Reaches models only through svc_core."""
