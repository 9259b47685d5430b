"""batchspec.formula"""
