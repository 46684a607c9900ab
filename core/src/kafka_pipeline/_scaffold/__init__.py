"""The ``kafka-pipeline new-plugin`` scaffold: a routing-plugin package ready to install and test.

The file templates are plain ``string.Template`` text under ``templates/``.
"""

from kafka_pipeline._scaffold.generate import (
    PluginPackage,
    ScaffoldError,
    compatible_core_requirement,
    create_plugin_package,
    plan_plugin_package,
)

__all__ = [
    "PluginPackage",
    "ScaffoldError",
    "compatible_core_requirement",
    "create_plugin_package",
    "plan_plugin_package",
]
