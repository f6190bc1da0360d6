"""Loading Campaign and Report manifests into a validated `Project`.

`project` runs the checks over every file `discovery` finds: the JSON Schema of each
document, then the rules a schema cannot express (`campaigns`, `reports`), collecting
every problem in a `run.Run`.
"""

from dialogops.manifests.discovery import discover, manifests_among
from dialogops.manifests.project import check_files, check_project, load_project, today_in

__all__ = [
    "check_files",
    "check_project",
    "discover",
    "load_project",
    "manifests_among",
    "today_in",
]
