"""The cluster's own objects never replace the user's, and one rule decides the default IngressClass."""

from __future__ import annotations

from netlab.compile import addons

NGINX_ARGV = ["nginx", "-p", "/run/netlab/t/ingress/", "-c", "/run/netlab/t/ingress/nginx.conf"]


def _key(obj: dict) -> str:
    meta = obj["metadata"]
    return f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}"


def _ingress_class(name: str, default: str | None = None, controller: str = "k8s.io/ingress-nginx") -> dict:
    meta: dict = {"name": name}
    if default is not None:
        meta["annotations"] = {addons.DEFAULT_CLASS_ANNOTATION: default}
    return {"kind": "IngressClass", "metadata": meta, "spec": {"controller": controller}}


def _ingress(name: str, cls: str | None = None, legacy: str | None = None) -> dict:
    meta: dict = {"name": name, "namespace": "default"}
    if legacy:
        meta["annotations"] = {"kubernetes.io/ingress.class": legacy}
    return {"kind": "Ingress", "metadata": meta, "spec": {"ingressClassName": cls} if cls else {}}


def test_a_users_object_stays_as_written_and_missing_addon_objects_are_added():
    wanted = addons.ingress_objects(NGINX_ARGV)
    user_class = _ingress_class("nginx", "true")
    user_ns = {"kind": "Namespace", "metadata": {"name": "ingress-nginx", "labels": {"team": "edge"}}}
    stale = {"kind": "ConfigMap", "metadata": {"name": "old", "namespace": "kube-system",
                                                "labels": {addons.ADDON_LABEL: "Reconcile"}}}
    objects = {_key(o): o for o in (user_class, user_ns, stale)}
    users, missing = addons.merge_addons(objects, wanted, _key)
    assert users == {_key(user_class): user_class, _key(user_ns): user_ns}, "add-on objects not wanted are dropped"
    assert [k for k, _ in missing] == ["Deployment/ingress-nginx/ingress-nginx-controller",
                                       "Service/ingress-nginx/ingress-nginx-controller"]


def test_addon_objects_are_all_added_when_the_user_has_none():
    wanted = addons.ingress_objects(NGINX_ARGV)
    users, missing = addons.merge_addons({}, wanted, _key)
    assert users == {} and [o for _, o in missing] == wanted
    assert all(addons.is_addon(o) for o in wanted)
    assert not addons.is_addon(_ingress_class("nginx"))


def test_default_ingress_class_needs_exactly_one_annotated_class():
    assert addons.default_ingress_class([_ingress_class("a"), _ingress_class("b", "false")]) is None
    only = _ingress_class("b", "true")
    assert addons.default_ingress_class([_ingress_class("a"), only]) is only
    assert addons.default_ingress_class([_ingress_class("a", "true"), only]) is None, "ambiguous: no default"


def test_nginx_serves_classless_ingresses_only_when_the_default_class_is_its_own():
    assert addons.nginx_serves_classless([_ingress_class("nginx", "true")])
    assert addons.nginx_serves_classless([_ingress_class("mine", "true")])
    assert not addons.nginx_serves_classless([_ingress_class("other", "true", controller="example.com/other")])
    assert not addons.nginx_serves_classless([_ingress_class("nginx")])


def test_ingress_wanted_follows_the_same_rule():
    default = _ingress_class("nginx", "true")
    assert addons.ingress_wanted([], enabled=True)
    assert not addons.ingress_wanted([_ingress("a")], enabled=False)
    assert addons.ingress_wanted([_ingress("a"), default], enabled=False)
    assert addons.ingress_wanted([_ingress("a", cls="nginx")], enabled=False)
    assert addons.ingress_wanted([_ingress("a", legacy="nginx")], enabled=False)
    assert not addons.ingress_wanted([_ingress("a", cls="traefik"), default], enabled=False)
    other_default = _ingress_class("other", "true", controller="example.com/other")
    assert not addons.ingress_wanted([_ingress("a"), other_default], enabled=False)


def test_nginx_serves_every_class_whose_controller_is_ingress_nginx():
    assert addons.nginx_classes([]) == {"nginx"}
    mine, other = _ingress_class("internal"), _ingress_class("traefik", controller="traefik.io/ingress-controller")
    assert addons.nginx_classes([mine, other]) == {"nginx", "internal"}
    taken = _ingress_class("nginx", controller="example.com/other")
    assert addons.nginx_classes([taken, mine]) == {"internal"}, "the user's class nginx belongs to another controller"
    assert addons.ingress_wanted([_ingress("a", cls="internal"), mine], enabled=False)
    assert not addons.ingress_wanted([_ingress("a", cls="nginx"), taken], enabled=False)


def test_the_reconcile_label_marks_the_addons_own_objects_as_in_the_addon_manager():
    own = {"kind": "IngressClass", "metadata": {"name": "nginx", "labels": {addons.ADDON_LABEL: "Reconcile"},
                                                "annotations": {addons.DEFAULT_CLASS_ANNOTATION: "true"}}}
    kept = {"kind": "IngressClass", "metadata": {"name": "nginx", "labels": {addons.ADDON_LABEL: "EnsureExists"},
                                                 "annotations": {addons.DEFAULT_CLASS_ANNOTATION: "true"}}}
    wanted = addons.ingress_objects(NGINX_ARGV)
    users, missing = addons.merge_addons({_key(own): own}, wanted, _key)
    assert users == {} and _key(own) in dict(missing), "Reconcile: netlab's definition is put back"
    users, missing = addons.merge_addons({_key(kept): kept}, wanted, _key)
    assert users == {_key(kept): kept} and _key(kept) not in dict(missing), "EnsureExists: the user's stays"
