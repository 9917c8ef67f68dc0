"""layerlab's engine: specs, data, models, training and inspection, usable without any screen."""
