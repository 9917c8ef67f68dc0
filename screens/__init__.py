"""One module per screen of the app, and the dialogs they open; they build on the shell (tui).

Screens load lazily through tui.registry; import the one you need, e.g.
`from screens.build import BuildScreen`.
"""
