"""The objects netlab's gateway controller adds to the cluster: the GatewayClass `netlab`, which exists
by default (an add-on object: a user's GatewayClass of the same name stays as written)."""

from __future__ import annotations

from netlab.compile.addons import ADDON_LABEL
from netlab.model.gateway import GROUP

CLASS_NAME = "netlab"
CONTROLLER_NAME = "netlab.dev/gateway-controller"


def gateway_class() -> dict:
    return {"apiVersion": f"{GROUP}/v1", "kind": "GatewayClass",
            "metadata": {"name": CLASS_NAME, "labels": {ADDON_LABEL: "Reconcile"}},
            "spec": {"controllerName": CONTROLLER_NAME,
                     "description": "netlab's Gateways: Debian nginx in proxy pods behind a LoadBalancer Service"}}
