"""The leaves: values as bytes, key names, settings and errors. They import nothing of ours."""
