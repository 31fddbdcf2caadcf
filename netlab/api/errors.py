"""Errors the API returns as Kubernetes Status objects."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, causes: list[dict] | None = None,
                 details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.causes = code, reason, causes or []
        self.details = details or {}  # Status details besides causes: the object's name and kind

    def status(self) -> dict:
        return {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": str(self), "reason": self.reason, "code": self.code,
            "details": {**self.details, "causes": self.causes},
        }
