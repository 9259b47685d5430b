"""batchspec: readable specs, an autoscale formula toolkit and a local Batch service for Azure Batch."""

__version__ = "0.1.0"
