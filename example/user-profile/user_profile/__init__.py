"""The example's user-profile read model (``read_model``) and mock control (``mock``),
vendored by functions/build.py into the zips of the functions that answer or check it."""
