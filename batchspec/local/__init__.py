"""batchspec.local"""
