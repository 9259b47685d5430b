"""Formula lint rules (FM2xx), one per file, listed in ``batchspec.lint.rules.ALL_RULES``."""
