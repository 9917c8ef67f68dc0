"""The course's example specs and the data they read, shipped inside the package (layerlab.examples)."""
