"""Input layer recipes, one module per family."""
