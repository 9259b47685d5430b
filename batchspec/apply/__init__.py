"""batchspec.apply"""
