"""The Kubernetes resources netlab serves: plural name, kind, API group/version, scope, short names."""

from __future__ import annotations

from dataclasses import dataclass

from netlab.model import crd, gateway
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
    stored_only: bool = False  # netlab keeps and shows it but does not act on it (`describe` and an event say so)
    custom: bool = False  # defined by a CustomResourceDefinition

    def no_effect_note(self) -> str | None:
        """The one line `describe` and an event give about a kind netlab stores but does not act on."""
        if not self.stored_only:
            return None
        what = "its CustomResourceDefinition's controller" if self.custom else "the controller that acts on it"
        return f"netlab stores this {self.kind} and serves it through the API, but does not act on it ({what} " \
               "is not part of netlab)"

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
    Resource("configmaps", "ConfigMap", "v1", True, ("cm",)),   # pods read them: env and volumes
    Resource("customresourcedefinitions", "CustomResourceDefinition", "apiextensions.k8s.io/v1", False,
             ("crd", "crds")),   # its kinds are served (discovery, get, create ...) as upstream
    Resource("jobs", "Job", "batch/v1", True, (), ("all",)),   # runtime/jobside.py runs them
    Resource("cronjobs", "CronJob", "batch/v1", True, ("cj",), ("all",)),
    *(Resource(plural, kind, api_version, namespaced, short, categories, stored_only=True)
      for plural, kind, api_version, namespaced, short, categories in (
        ("serviceaccounts", "ServiceAccount", "v1", True, ("sa",), ()),
        ("limitranges", "LimitRange", "v1", True, ("limits",), ()),
        ("resourcequotas", "ResourceQuota", "v1", True, ("quota",), ()),
        ("persistentvolumeclaims", "PersistentVolumeClaim", "v1", True, ("pvc",), ()),
        ("roles", "Role", "rbac.authorization.k8s.io/v1", True, (), ()),
        ("clusterroles", "ClusterRole", "rbac.authorization.k8s.io/v1", False, (), ()),
        ("rolebindings", "RoleBinding", "rbac.authorization.k8s.io/v1", True, (), ()),
        ("clusterrolebindings", "ClusterRoleBinding", "rbac.authorization.k8s.io/v1", False, (), ()),
        ("poddisruptionbudgets", "PodDisruptionBudget", "policy/v1", True, ("pdb",), ()),
        ("horizontalpodautoscalers", "HorizontalPodAutoscaler", "autoscaling/v2", True, ("hpa",), ("all",)),
        ("priorityclasses", "PriorityClass", "scheduling.k8s.io/v1", False, ("pc",), ()),
        ("leases", "Lease", "coordination.k8s.io/v1", True, (), ()),
        ("validatingwebhookconfigurations", "ValidatingWebhookConfiguration", "admissionregistration.k8s.io/v1",
         False, (), ()),
        ("mutatingwebhookconfigurations", "MutatingWebhookConfiguration", "admissionregistration.k8s.io/v1",
         False, (), ()),
    )),
    *(Resource(k.plural, k.kind, k.api_version(), k.namespaced, k.short, k.categories, stored_only=True)
      for k in crd.UNMODELLED),
    # the Gateway API, built in: netlab's gateway controller acts on them (compile/gateway_*.py)
    *(Resource(k.plural, k.kind, k.api_version(), k.namespaced, k.short, k.categories) for k in gateway.KINDS),
)

BY_KIND = {r.kind: r for r in RESOURCES}   # the built-in kinds; by_kind() also knows the CRDs' kinds
CLUSTER_SCOPED = {r.kind for r in RESOURCES if not r.namespaced}


def _custom(k: crd.KindInfo, version: str) -> Resource:
    return Resource(k.plural, k.kind, k.api_version(version), k.namespaced, k.short, k.categories,
                    stored_only=True, custom=True)


def served() -> tuple[Resource, ...]:
    """Every resource served now: the built-in ones, then a resource per served version of each stored
    CustomResourceDefinition (its storage version first)."""
    return RESOURCES + tuple(_custom(k, v) for k in crd.custom_kinds() for v in k.versions)


def by_kind(kind: str) -> Resource | None:
    """The resource of a kind (a custom kind's preferred version), None when not served."""
    found = BY_KIND.get(kind)
    if found is not None:
        return found
    return next((_custom(k, k.versions[0]) for k in crd.custom_kinds() if k.kind == kind), None)


def is_cluster_scoped(kind: str) -> bool:
    res = by_kind(kind)
    return res is not None and not res.namespaced


def lookup(word: str, candidates: tuple[Resource, ...] | None = None) -> Resource | None:
    """Resolve what a user types after `get`/`delete`: plural, singular, short name or Kind, optionally
    with its group (`jobs.batch`, `widgets.example.com`)."""
    w = word.lower()
    name, _, group = w.partition(".")
    for r in served() if candidates is None else candidates:
        if w in (r.plural, r.singular, r.kind.lower(), *r.short) or (
                group and r.group == group and name in (r.plural, r.singular, r.kind.lower(), *r.short)):
            return r
    return None


def by_path(api_version: str, plural: str) -> Resource | None:
    for r in served():
        if r.plural == plural and r.api_version == api_version:
            return r
    return None


# netlab's own verbs, beside the Kubernetes resources: one home, for the server and its clients.
APPLY_PATH = "/apis/netlab.dev/v1alpha1/apply"
ADDONS_PATH = "/apis/netlab.dev/v1alpha1/addons"
DATAPLANE_PATH = "/apis/netlab.dev/v1alpha1/dataplane"  # the compiled rulesets and topology (api.dataplane_view)
