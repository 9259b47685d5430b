"""batchspec.spec"""
