"""The example registers shipped with the package (linked from examples/)."""
