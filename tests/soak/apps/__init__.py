"""The soak tier's app; the test imports soak_ops from here, the app by its file name."""
