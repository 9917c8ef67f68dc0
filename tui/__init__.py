"""The Textual shell of layerlab: the app, its shared workspace, status bar, widgets and dialogs.

Importing this package stays light (no Keras, no TensorFlow) so the first screen paints at once.
The command is `layerlab.tui.main:main`; the app is `tui.app.LayerlabApp`.
"""
