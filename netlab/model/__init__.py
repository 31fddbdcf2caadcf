"""Kubernetes manifests: load YAML/JSON, typed objects, validation. Pure: no kernel, no output."""

from .cluster import Cluster, default_cluster
from .loader import RawDoc, load_paths
from .model import SUPPORTED_KINDS, K8sObject, from_dict
from .problems import ManifestError, Problem, Source
from .validate import load, parse_objects

__all__ = [
    "SUPPORTED_KINDS",
    "Cluster",
    "K8sObject",
    "ManifestError",
    "Problem",
    "RawDoc",
    "Source",
    "default_cluster",
    "from_dict",
    "load",
    "load_paths",
    "parse_objects",
]
