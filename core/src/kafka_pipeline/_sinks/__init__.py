"""Sinks: where the standard processing stores results, and the Delta Lake one.

``sink`` (the interface the loop knows), ``delta`` (the Delta writer),
``rows`` and ``schema`` (its Arrow rows), ``values`` (what a column cannot
store), ``storage`` (the object store under it), ``evolution`` (new model
fields as new columns) and ``maintenance`` (compaction, checkpoints, vacuum).
"""
