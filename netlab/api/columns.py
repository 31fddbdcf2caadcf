"""kubectl's `get` columns per kind, as upstream's printers define them (pkg/printers/internalversion):
one definition shared by the API server's Table output (netlab.api.table) and the CLI (netlab.cli.printers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from netlab.api.columns_gateway import GATEWAY_COLUMNS
from netlab.api.columns_stored import STORED_COLUMNS
from netlab.api.humanize import _name
from netlab.api.rows import (
    deployment_row,
    endpoints_row,
    endpointslice_row,
    event_row,
    generic_row,
    ingress_row,
    ingressclass_row,
    namespace_row,
    networkpolicy_row,
    node_row,
    pod_row,
    replicaset_row,
    secret_row,
    service_row,
)
from netlab.api.rows_podsets import daemonset_row, replicationcontroller_row, statefulset_row


@dataclass(frozen=True)
class Column:
    """A meta.k8s.io/v1 TableColumnDefinition: priority 0 always shows, 1 only with `-o wide`."""

    name: str
    description: str
    type: str = "string"
    format: str = ""
    priority: int = 0

    def definition(self) -> dict:
        return {"name": self.name, "type": self.type, "format": self.format, "description": self.description,
                "priority": self.priority}


def _wide(name: str, description: str, type_: str = "string") -> Column:
    return Column(name, description, type_, priority=1)


RowFn = Callable[[dict, float, bool], list[str]]
NAME = Column("Name", "Name must be unique within a namespace.", format="name")
AGE = Column("Age", "CreationTimestamp is a timestamp representing the server time when this object was created.")
_SELECTOR = _wide("Selector", "The label selector of the workload's pods.")
_CONTAINERS = _wide("Containers", "Names of each container in the template.")
_IMAGES = _wide("Images", "Images referenced by each container in the template.")


@dataclass(frozen=True)
class KindColumns:
    """The columns of one kind, and the function giving a row's cells after NAME (all of them when wide,
    the priority-0 ones otherwise). `named` is False for Events, whose table has no leading NAME column."""

    columns: tuple[Column, ...]
    row: RowFn
    named: bool = True

    def all_columns(self) -> list[Column]:
        return ([NAME] if self.named else []) + list(self.columns)

    def row_cells(self, obj: dict, now: float, wide: bool) -> list[str]:
        return ([_name(obj)] if self.named else []) + self.row(obj, now, wide)


COLUMNS: dict[str, KindColumns] = {
    "Pod": KindColumns((
        Column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        Column("Status", "The aggregate status of the containers in this pod."),
        Column("Restarts", "The number of times the containers in this pod have been restarted and when the "
               "last container in this pod has restarted."),
        AGE,
        _wide("IP", "IP address allocated to the pod."),
        _wide("Node", "Name of the Node this pod runs on."),
        _wide("Nominated Node", "Name of the node the scheduler nominated for this pod."),
        _wide("Readiness Gates", "How many of the pod's readiness gates are true."),
    ), pod_row),
    "Node": KindColumns((
        Column("Status", "The status of the node."),
        Column("Roles", "The roles of the node."),
        AGE,
        Column("Version", "Kubelet Version reported by the node."),
        _wide("Internal-IP", "The node's InternalIP address."),
        _wide("External-IP", "The node's ExternalIP address."),
        _wide("OS-Image", "OS Image reported by the node from /etc/os-release."),
        _wide("Kernel-Version", "Kernel Version reported by the node from 'uname -r'."),
        _wide("Container-Runtime", "Container runtime version reported by the node."),
    ), node_row),
    "Deployment": KindColumns((
        Column("Ready", "Number of the pod with ready state."),
        Column("Up-to-date", "Total number of non-terminated pods targeted by this deployment that have the "
               "desired template spec.", "integer"),
        Column("Available", "Total number of available pods (ready for at least minReadySeconds) targeted by "
               "this deployment.", "integer"),
        AGE, _CONTAINERS, _IMAGES, _SELECTOR,
    ), deployment_row),
    "ReplicaSet": KindColumns((
        Column("Desired", "Replicas is the number of desired pods.", "integer"),
        Column("Current", "Replicas is the most recently observed number of replicas.", "integer"),
        Column("Ready", "The number of pods targeted by this ReplicaSet with a Ready Condition.", "integer"),
        AGE, _CONTAINERS, _IMAGES, _SELECTOR,
    ), replicaset_row),
    "StatefulSet": KindColumns((
        Column("Ready", "Number of the pod with ready state."), AGE, _CONTAINERS, _IMAGES,
    ), statefulset_row),
    "DaemonSet": KindColumns((
        Column("Desired", "The number of nodes that should be running the daemon pod.", "integer"),
        Column("Current", "The number of nodes running at least one daemon pod.", "integer"),
        Column("Ready", "The number of nodes that should be running the daemon pod and have one or more of "
               "the daemon pod running and ready.", "integer"),
        Column("Up-to-date", "The total number of nodes that are running updated daemon pod.", "integer"),
        Column("Available", "The number of nodes that should be running the daemon pod and have one or more of "
               "the daemon pod running and available.", "integer"),
        Column("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node."),
        AGE, _CONTAINERS, _IMAGES, _SELECTOR,
    ), daemonset_row),
    "ReplicationController": KindColumns((
        Column("Desired", "Replicas is the number of desired replicas.", "integer"),
        Column("Current", "Replicas is the most recently observed number of replicas.", "integer"),
        Column("Ready", "The number of ready replicas for this replication controller.", "integer"),
        AGE, _CONTAINERS, _IMAGES, _SELECTOR,
    ), replicationcontroller_row),
    "Service": KindColumns((
        Column("Type", "Type determines how the Service is exposed."),
        Column("Cluster-IP", "The IP address of the service, usually assigned randomly."),
        Column("External-IP", "The external addresses of the service."),
        Column("Port(s)", "The list of ports that are exposed by this service."),
        AGE,
        _wide("Selector", "Route service traffic to pods with label keys and values matching this selector."),
    ), service_row),
    "Endpoints": KindColumns((
        Column("Endpoints", "The set of all endpoints is the union of all subsets."), AGE,
    ), endpoints_row),
    "EndpointSlice": KindColumns((
        Column("AddressType", "The type of address carried by this EndpointSlice."),
        Column("Ports", "The ports exposed by the endpoints in this slice."),
        Column("Endpoints", "The addresses of the endpoints in this slice."),
        AGE,
    ), endpointslice_row),
    "Namespace": KindColumns((
        Column("Status", "The status of the namespace."), AGE,
    ), namespace_row),
    "Secret": KindColumns((
        Column("Type", "Used to facilitate programmatic handling of secret data."),
        Column("Data", "The number of keys in the secret's data.", "integer"),
        AGE,
    ), secret_row),
    "Ingress": KindColumns((
        Column("Class", "The name of the IngressClass resource."),
        Column("Hosts", "Hosts that incoming requests are matched against."),
        Column("Address", "Address is a list containing ingress points for the load-balancer."),
        Column("Ports", "Ports of TLS configurations that open."),
        AGE,
    ), ingress_row),
    "IngressClass": KindColumns((
        Column("Controller", "Controller that is responsible for handling this class."),
        Column("Parameters", "A reference to a resource with additional parameters."),
        AGE,
    ), ingressclass_row),
    "NetworkPolicy": KindColumns((
        Column("Pod-Selector", "Selects the pods to which this NetworkPolicy object applies."), AGE,
    ), networkpolicy_row),
    "Event": KindColumns((
        Column("Last Seen", "The last time the event was seen."),
        Column("Type", "Type of this event (Normal, Warning)."),
        Column("Reason", "A short, machine understandable string that gives the reason for the event."),
        Column("Object", "The object that this event is about."),
        _wide("Subobject", "The field of the object this event is about."),
        _wide("Source", "The component reporting this event."),
        Column("Message", "A human-readable description of the status of this operation."),
        _wide("First Seen", "The first time the event was seen."),
        _wide("Count", "The number of times this event has occurred.", "integer"),
        _wide("Name", "Name must be unique within a namespace."),
    ), event_row, named=False),
}
GENERIC = KindColumns((AGE,), generic_row)


def kind_columns(kind: str) -> KindColumns:
    """The columns of `kind`, or the generic NAME, AGE for kinds without their own."""
    return COLUMNS.get(kind, GENERIC)


COLUMNS.update({kind: KindColumns(tuple(Column(*spec) for spec in specs), row)   # the stored-only kinds'
                for kind, (specs, row) in STORED_COLUMNS.items()})
COLUMNS.update({kind: KindColumns(tuple(Column(*spec) for spec in specs), row)   # the Gateway API's
                for kind, (specs, row) in GATEWAY_COLUMNS.items()})
