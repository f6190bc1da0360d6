"""Views: turn the records the core returns into what people read (text, tables, progress).

The only layer that imports rich. A view decides nothing: it formats a value it is given.
"""
