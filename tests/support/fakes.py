"""Kept for imports written before the fakes moved: every AWS fake lives in
``cutover.rehearsal.fakes`` (import from there)."""

from cutover.rehearsal.fakes import AppConfigExtension, ExtensionsAPI, LambdaInvokeApi, LocalServer
from cutover.rehearsal.fakes import StandaloneDataPlane as AppConfigDataPlane

LambdaService = LambdaInvokeApi

__all__ = ["AppConfigDataPlane", "AppConfigExtension", "ExtensionsAPI", "LambdaService", "LocalServer"]
