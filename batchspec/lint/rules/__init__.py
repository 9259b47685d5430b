"""batchspec.lint.rules"""
