"""The Kubernetes resources netlab serves: plural name, kind, API group/version, scope, short names."""

from __future__ import annotations

from dataclasses import dataclass

from netlab.model.core import BUILTIN_NAMESPACES as BUILTIN_NAMESPACES  # its home is model/

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Resource:
    plural: str
    kind: str
    api_version: str
    namespaced: bool
    short: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()   # "all": what `kubectl get all` lists, as upstream declares it
    verbs: tuple[str, ...] = ALL_VERBS  # what the real API server allows on it (see discovery.SERVED_VERBS)
    subresources: tuple[str, ...] = ()  # served subresources (discovery lists them as "pods/log")

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return base + (f"/{name}" if name else "")


RESOURCES: tuple[Resource, ...] = (
    Resource("pods", "Pod", "v1", True, ("po",), ("all",), subresources=("log",)),
    Resource("services", "Service", "v1", True, ("svc",), ("all",)),
    Resource("endpoints", "Endpoints", "v1", True, ("ep",)),
    Resource("namespaces", "Namespace", "v1", False, ("ns",)),
    Resource("nodes", "Node", "v1", False, ("no",)),
    Resource("secrets", "Secret", "v1", True),
    Resource("events", "Event", "v1", True, ("ev",)),
    Resource("deployments", "Deployment", "apps/v1", True, ("deploy",), ("all",)),
    Resource("replicasets", "ReplicaSet", "apps/v1", True, ("rs",), ("all",)),
    Resource("endpointslices", "EndpointSlice", "discovery.k8s.io/v1", True),
    Resource("ingresses", "Ingress", "networking.k8s.io/v1", True, ("ing",)),
    Resource("ingressclasses", "IngressClass", "networking.k8s.io/v1", False),
    Resource("networkpolicies", "NetworkPolicy", "networking.k8s.io/v1", True, ("netpol",)),
)

BY_KIND = {r.kind: r for r in RESOURCES}
CLUSTER_SCOPED = {r.kind for r in RESOURCES if not r.namespaced}


def lookup(word: str) -> Resource | None:
    """Resolve what a user types after `get`/`delete`: plural, singular, short name or Kind."""
    w = word.lower()
    for r in RESOURCES:
        if w in (r.plural, r.singular, r.kind.lower(), *r.short):
            return r
    return None


def by_path(api_version: str, plural: str) -> Resource | None:
    for r in RESOURCES:
        if r.plural == plural and r.api_version == api_version:
            return r
    return None


# netlab's own verbs, beside the Kubernetes resources: one home, for the server and its clients.
APPLY_PATH = "/apis/netlab.dev/v1alpha1/apply"
ADDONS_PATH = "/apis/netlab.dev/v1alpha1/addons"
DATAPLANE_PATH = "/apis/netlab.dev/v1alpha1/dataplane"  # the compiled rulesets and topology (api.dataplane_view)
