"""batchspec.lint"""
