"""One type for every problem batchspec reports (see model.py), and its renderers (render/)."""

from batchspec.diagnostics.model import Diagnostic, Pos, Related, Severity, Span

__all__ = ["Diagnostic", "Pos", "Related", "Severity", "Span"]
