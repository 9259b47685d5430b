"""Formula evaluation (interpreter and compiled form) and the autoscale simulator. Pure: no I/O."""
