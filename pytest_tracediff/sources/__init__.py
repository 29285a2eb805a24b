"""Sources: everything that turns a run into a ``Trace`` (the recorder, framework adapters, capture).

Depends only on the model.
"""
