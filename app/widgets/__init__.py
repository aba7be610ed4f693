"""Reusable widgets: plots (pyqtgraph), progress, file lists, dialogs."""
