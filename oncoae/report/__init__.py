"""Figures and the self-contained HTML report. The report reads results; it never fits anything."""
