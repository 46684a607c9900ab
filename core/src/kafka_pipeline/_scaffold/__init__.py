"""The ``kafka-pipeline new-plugin`` scaffold: a routing-plugin package ready to install and test.

The file templates are plain ``string.Template`` text under ``templates/``.
"""
