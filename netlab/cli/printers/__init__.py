"""kubectl-shaped output: `get` tables, `-o name|yaml|json`, and `describe`.

Pure functions over the Kubernetes-shaped JSON objects the controller serves. Nothing here does I/O
or reads the clock: callers pass `now` (seconds since the epoch) so ages are exact in tests.

The layouts follow kubectl's printers (k8s.io/kubernetes/pkg/printers/internalversion) and
describers (k8s.io/kubectl/pkg/describe), including Go's text/tabwriter column alignment:
`get` tables use minwidth 6 and padding 3, `describe` uses padding 2, and a column only aligns
across contiguous lines that have a cell in it.

Text results (`table`, `names_output`, `to_yaml`, `describe`) end with a newline (empty string for
nothing to print); `to_json` does not, like `json.dumps`.
"""

from netlab.api.humanize import format_age, format_label_selector, format_labels, human_duration
from netlab.cli.printers.describe import describe, smart_label
from netlab.cli.printers.format import resource_name
from netlab.cli.printers.output import to_json, to_yaml
from netlab.cli.printers.tables import format_endpoints, names_output, table

__all__ = ["format_age", "human_duration", "table", "names_output", "resource_name", "to_yaml", "to_json", "describe",
           "format_label_selector", "format_labels", "format_endpoints", "smart_label"]
