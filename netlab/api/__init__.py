"""The Kubernetes-shaped API: server, request handling, views of the state, client, resource table."""
