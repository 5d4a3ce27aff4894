"""Eval datasets, scorers and the runner behind `autocmo eval`."""
